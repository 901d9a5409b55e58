#include "plugin/instance.hpp"

#include <cstring>

#include "plugin/kind.hpp"
#include "plugin/status.hpp"

namespace cap::host {

PluginInstance::PluginInstance(std::shared_ptr<const PluginLibrary> library, OptionValues values)
    : library_(std::move(library)), options_(std::make_unique<cap_options>()) {
    options_->schema = &library_->options();
    options_->values = std::move(values);
    options_->owner = library_->label();
    const auto& d = library_->descriptor();
    cap_status* status = nullptr;
    try {
        status = d.create(library_->host_api(), options_.get(), &handle_);
    } catch (...) {
        throw PluginError(label() + ": create threw a C++ exception across the ABI (a plugin bug)",
                          CAP_ERROR_INTERNAL);
    }
    check_status(status, label() + ": create");
    if (!handle_) throw PluginError(label() + ": create returned no instance", CAP_ERROR_INTERNAL);
}

PluginInstance::~PluginInstance() {
    if (handle_) library_->descriptor().destroy(handle_);
}

void PluginInstance::require_kind(cap_plugin_kind expected) const {
    if (library_->kind() != expected)
        throw PluginError(label() + " is a " + kind_name(library_->kind()) + " plugin, not a " +
                              kind_name(expected),
                          CAP_ERROR_INVALID_ARGUMENT);
}

void PluginInstance::throw_escaped_exception(const char* what) const {
    throw PluginError(label() + ": " + what +
                          " threw a C++ exception across the ABI (a plugin bug: errors must be statuses)",
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
