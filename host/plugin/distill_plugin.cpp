#include "plugin/distill_plugin.hpp"

namespace cap::host {

DistillPlugin::DistillPlugin(std::unique_ptr<PluginInstance> instance) : instance_(std::move(instance)) { api(); }

double DistillPlugin::loss(const cap_exec_context& ctx, const cap_distill_batch& batch, DLTensor* grad_student) const {
    double value = 0;
    instance_->call("loss", [&] { return api().loss(instance_->handle(), &ctx, &batch, &value, grad_student); });
    return value;
}

}  // namespace cap::host
