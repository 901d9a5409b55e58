#include "plugin/schedule_plugin.hpp"

namespace cap::host {

SchedulePlugin::SchedulePlugin(std::unique_ptr<PluginInstance> instance)
    : instance_(std::move(instance)) {
    api();
}

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
    return out;
}

}  // namespace cap::host
