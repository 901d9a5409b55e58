#include "plugin/schedule_plugin.hpp"

#include <cmath>

namespace cap::host {

SchedulePlugin::SchedulePlugin(std::unique_ptr<PluginInstance> instance) : instance_(std::move(instance)) { api(); }

void SchedulePlugin::bind(const cap_model_shape& shape, const cap_constraints& constraints) const {
    instance_->call("bind", [&] { return api().bind(instance_->handle(), &shape, &constraints); });
}

uint32_t SchedulePlugin::num_stages() const {
    uint32_t n = 0;
    instance_->call("num_stages", [&] { return api().num_stages(instance_->handle(), &n); });
    return n;
}

cap_stage SchedulePlugin::stage(uint32_t index) const {
    auto out = blank_struct<cap_stage>();
    instance_->call("stage", [&] { return api().stage(instance_->handle(), index, &out); });
    // The host computes step counts from these: nonsense here must stop at the plugin.
    auto bad = [&](const std::string& what) {
        return PluginError(instance_->label() + ": stage " + std::to_string(index) + " has " + what,
                           CAP_ERROR_INVALID_ARGUMENT);
    };
    if (!std::isfinite(out.target_sparsity) || out.target_sparsity < 0 || out.target_sparsity > 1)
        throw bad("a target sparsity outside [0, 1]");
    if (!std::isfinite(out.retrain_epochs) || out.retrain_epochs < 0 || out.retrain_epochs > 1e6)
        throw bad("an invalid retrain_epochs");
    if (out.heads_to_prune < 0 || out.ffn_to_prune < 0) throw bad("a negative number of units to prune");
    return out;
}

std::vector<cap_stage> SchedulePlugin::stages() const {
    std::vector<cap_stage> out;
    const uint32_t n = num_stages();
    for (uint32_t i = 0; i < n; ++i) out.push_back(stage(i));
    return out;
}

cap_schedule_point SchedulePlugin::at(const cap_progress& progress) const {
    auto out = blank_struct<cap_schedule_point>();
    instance_->call("at", [&] { return api().at(instance_->handle(), &progress, &out); });
    if ((out.target_kind != CAP_TARGET_SPARSITY && out.target_kind != CAP_TARGET_THRESHOLD) ||
        !std::isfinite(out.target))
        throw PluginError(instance_->label() + ": at(step " + std::to_string(progress.step) +
                              ") returned an unknown target kind or a non-finite target",
                          CAP_ERROR_INVALID_ARGUMENT);
    return out;
}

}  // namespace cap::host
