#include "plugin/backend_plugin.hpp"

namespace cap::host {

cap_backend_probe probe_backend(const PluginLibrary& library, const OptionValues& values) {
    if (library.kind() != CAP_KIND_BACKEND)
        throw PluginError(library.label() + " is not a backend", CAP_ERROR_INVALID_ARGUMENT);
    auto out = blank_struct<cap_backend_probe>();
    cap_options options = make_options(library, values);
    cap_status* status = nullptr;
    try {
        status = library.table<cap_backend_api>().probe(library.host_api(), &options, &out);
    } catch (...) {
        throw PluginError(library.label() + ": probe threw a C++ exception across the ABI", CAP_ERROR_INTERNAL);
    }
    check_status(status, library.label() + ": probe");
    out.reason[sizeof(out.reason) - 1] = '\0';
    return out;
}

BackendPlugin::BackendPlugin(std::unique_ptr<PluginInstance> instance) : instance_(std::move(instance)) {
    api();  // checks the kind
}

cap_exec_context BackendPlugin::context() const {
    auto out = blank_struct<cap_exec_context>();
    instance_->call("context", [&] { return api().context(instance_->handle(), &out); });
    return out;
}

cap_precision_policy BackendPlugin::precision() const {
    auto out = blank_struct<cap_precision_policy>();
    instance_->call("precision", [&] { return api().precision(instance_->handle(), &out); });
    return out;
}

void BackendPlugin::synchronize(const cap_exec_context& ctx) const {
    instance_->call("synchronize", [&] { return api().synchronize(instance_->handle(), &ctx); });
}

cap_memory_info BackendPlugin::memory() const {
    auto out = blank_struct<cap_memory_info>();
    instance_->call("memory", [&] { return api().memory(instance_->handle(), &out); });
    return out;
}

std::string BackendPlugin::describe() const {
    char buffer[1024] = {};
    instance_->call("describe", [&] { return api().describe(instance_->handle(), buffer, sizeof(buffer)); });
    buffer[sizeof(buffer) - 1] = '\0';
    return buffer;
}

}  // namespace cap::host
