// Typed calls into a backend plugin (cap/backend.h).
#pragma once

#include <memory>
#include <string>

#include "plugin/instance.hpp"

namespace cap::host {

// Asks a backend library whether it can run here with these (validated) options, without
// creating it.
cap_backend_probe probe_backend(const PluginLibrary& library, const OptionValues& values);

class BackendPlugin {
public:
    explicit BackendPlugin(std::unique_ptr<PluginInstance> instance);
    const PluginInstance& instance() const { return *instance_; }

    cap_exec_context context() const;
    cap_precision_policy precision() const;
    void synchronize(const cap_exec_context& ctx) const;
    cap_memory_info memory() const;
    std::string describe() const;

private:
    const cap_backend_api& api() const { return instance_->table<cap_backend_api>(CAP_KIND_BACKEND); }
    std::unique_ptr<PluginInstance> instance_;
};

}  // namespace cap::host
