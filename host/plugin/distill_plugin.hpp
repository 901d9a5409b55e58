// Typed calls into a distillation plugin (cap/distill.h).
#pragma once

#include <memory>

#include "plugin/instance.hpp"

namespace cap::host {

class DistillPlugin {
public:
    explicit DistillPlugin(std::unique_ptr<PluginInstance> instance);
    const PluginInstance& instance() const { return *instance_; }

    double loss(const cap_exec_context& ctx, const cap_distill_batch& batch, DLTensor* grad_student) const;

private:
    const cap_distill_api& api() const { return instance_->table<cap_distill_api>(CAP_KIND_DISTILL); }
    std::unique_ptr<PluginInstance> instance_;
};

}  // namespace cap::host
