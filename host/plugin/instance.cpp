#include "plugin/instance.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

#include "plugin/kind.hpp"
#include "plugin/status.hpp"

namespace cap::host {

cap_options make_options(const PluginLibrary& library, OptionValues values) {
    cap_options options;
    options.schema = &library.options();
    options.values = std::move(values);
    options.owner = library.label();
    return options;
}

PluginInstance::PluginInstance(std::shared_ptr<const PluginLibrary> library, OptionValues values, uint64_t seed)
    : library_(std::move(library)),
      host_(
          make_host_context(library_->label(), library_->host_api()->abi_major, library_->host_api()->abi_minor, seed)),
      options_(std::make_unique<cap_options>(make_options(*library_, std::move(values)))) {
    const auto& d = library_->descriptor();
    cap_status* status = nullptr;
    try {
        const util::PluginCallRecord record(label(), "create");
        status = d.create(&host_->api, options_.get(), &handle_);
    } catch (...) {
        throw PluginError(label() + ": create threw a C++ exception across the ABI (a plugin bug)", CAP_ERROR_INTERNAL);
    }
    check_status(status, label() + ": create");
    if (!handle_) throw PluginError(label() + ": create returned no instance", CAP_ERROR_INTERNAL);
}

PluginInstance::~PluginInstance() {
    if (!handle_) return;
    try {
        const util::PluginCallRecord record(label(), "destroy");
        library_->descriptor().destroy(handle_);
    } catch (...) {
        // A conforming plugin never throws here; a non-conforming one must not take the host down.
        spdlog::error("{}: destroy threw a C++ exception across the ABI (a plugin bug)", label());
    }
}

void PluginInstance::require_kind(cap_plugin_kind expected) const {
    if (library_->kind() != expected)
        throw PluginError(label() + " is a " + kind_name(library_->kind()) + " plugin, not a " + kind_name(expected),
                          CAP_ERROR_INVALID_ARGUMENT);
}

void PluginInstance::throw_escaped_exception(const char* what) const {
    throw PluginError(
        label() + ": " + what + " threw a C++ exception across the ABI (a plugin bug: errors must be statuses)",
        CAP_ERROR_INTERNAL);
}

void PluginInstance::check_call(cap_status* status, const char* what) const {
    check_status(status, label() + ": " + what);
}

bool PluginInstance::has_entry(size_t offset) const {
    if (library_->table_size() < offset + sizeof(void*)) return false;
    void* fn = nullptr;
    std::memcpy(&fn, static_cast<const char*>(library_->descriptor().functions) + offset, sizeof(fn));
    return fn != nullptr;
}

}  // namespace cap::host
