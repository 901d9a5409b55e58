// Typed calls into a schedule plugin (cap/schedule.h).
#pragma once

#include <memory>
#include <vector>

#include "plugin/instance.hpp"

namespace cap::host {

class SchedulePlugin {
public:
    explicit SchedulePlugin(std::unique_ptr<PluginInstance> instance);
    const PluginInstance& instance() const { return *instance_; }

    void bind(const cap_model_shape& shape, const cap_constraints& constraints) const;
    uint32_t num_stages() const;
    cap_stage stage(uint32_t index) const;
    std::vector<cap_stage> stages() const;  // every stage, in order
    cap_schedule_point at(const cap_progress& progress) const;

private:
    const cap_schedule_api& api() const { return instance_->table<cap_schedule_api>(CAP_KIND_SCHEDULE); }
    std::unique_ptr<PluginInstance> instance_;
};

}  // namespace cap::host
