// The schedule's plan for this model, before any training: stages with how many heads and FFN
// neurons each prunes and what remains, and the schedule's answer at sampled steps.
#pragma once

#include <nlohmann/json.hpp>

#include "plugin/schedule_plugin.hpp"

namespace cap::run {

// Where training is at optimizer step `step` of `total_steps`, epochs of `steps_per_epoch`.
cap_progress progress_at(int64_t step, int64_t total_steps, int64_t steps_per_epoch);

struct ScheduleTrace {
    nlohmann::ordered_json json;     // written to schedule.json
    std::vector<std::string> lines;  // a table for the log
};

// Binds the schedule to `shape` and `constraints`, then samples it. Training does not exist yet
// to say how many steps an epoch has, so the trace uses `steps_per_epoch` nominal steps.
ScheduleTrace trace_schedule(const host::SchedulePlugin& schedule, const cap_model_shape& shape,
                             const cap_constraints& constraints, int64_t steps_per_epoch);

}  // namespace cap::run
