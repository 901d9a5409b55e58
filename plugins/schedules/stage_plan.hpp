// Shared by schedules/iterative and schedules/one_shot: turning sparsity targets into stages.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cap/plugin.hpp"

namespace cap::schedules {

inline std::string percent_text(double p) {
    std::string s = std::to_string(p);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s + "%";
}

// Units pruned in total at `percent`, as the reference computes it: int(units * p / 100).
inline int64_t units_at_percent(int64_t units, double percent) {
    return static_cast<int64_t>(std::floor(static_cast<double>(units) * percent / 100.0));
}

// Stages for cumulative targets `percents` (non-decreasing, in [0, 100]): the per-stage number
// of heads and FFN neurons is the difference between consecutive cumulative targets, with heads
// and neurons at the same ratio. Fails when a target would leave fewer heads than the
// constraints protect (the reference asserts the same).
inline std::vector<cap_stage> plan_stages(const std::vector<double>& percents, double retrain_epochs,
                                          const cap_model_shape& shape, const cap_constraints& constraints) {
    if (percents.empty()) fail("percents is empty: give at least one target");
    if (!(retrain_epochs >= 0)) fail("retrain_epochs must be 0 (no retraining) or more");
    if (shape.num_layers <= 0 || shape.num_heads <= 0 || shape.intermediate_size <= 0)
        fail("model shape has no layers, heads or FFN neurons");
    const int64_t heads = int64_t{shape.num_layers} * shape.num_heads;
    const int64_t neurons = int64_t{shape.num_layers} * shape.intermediate_size;
    const int64_t prunable_heads = heads - int64_t{constraints.min_heads_per_layer} * shape.num_layers;
    std::vector<cap_stage> stages;
    int64_t heads_before = 0, neurons_before = 0;
    double previous = 0;
    for (double p : percents) {
        if (p < 0 || p > 100) fail("target " + percent_text(p) + " is outside [0, 100]");
        if (p < previous) fail("targets must not decrease: " + percent_text(p) + " follows " + percent_text(previous));
        const int64_t h = units_at_percent(heads, p);
        const int64_t n = units_at_percent(neurons, p);
        if (h > prunable_heads)
            fail("target " + percent_text(p) + " prunes " + std::to_string(h) + " of " + std::to_string(heads) +
                 " heads, but min_heads_per_layer = " + std::to_string(constraints.min_heads_per_layer) + " protects " +
                 std::to_string(heads - prunable_heads) + " (at most " + std::to_string(prunable_heads) +
                 " can go); lower the target or [constraints] min_heads_per_layer");
        cap_stage s{};
        s.struct_size = sizeof(s);
        s.target_sparsity = p / 100.0;
        s.heads_to_prune = h - heads_before;
        s.ffn_to_prune = n - neurons_before;
        s.retrain_epochs = retrain_epochs;
        stages.push_back(s);
        heads_before = h;
        neurons_before = n;
        previous = p;
    }
    return stages;
}

// The stage a step belongs to, with a pruning event on the first step of every stage.
inline cap_schedule_point point_in_plan(const std::vector<cap_stage>& stages, const cap_progress& progress) {
    if (stages.empty()) fail("schedule used before bind()");
    if (progress.steps_per_epoch <= 0) fail("steps_per_epoch must be positive");
    if (progress.step < 0) fail("step must not be negative");
    int64_t start = 0;
    size_t index = 0;
    for (; index < stages.size(); ++index) {
        const double epochs = stages[index].retrain_epochs;  // 0: the stage has no steps, as in the host's loop
        const auto length = epochs > 0 ? std::max<int64_t>(1, std::llround(epochs * progress.steps_per_epoch)) : 0;
        if (progress.step < start + length || index + 1 == stages.size()) break;
        start += length;
    }
    cap_schedule_point point{};
    point.struct_size = sizeof(point);
    point.target_kind = CAP_TARGET_SPARSITY;
    point.target = stages[index].target_sparsity;
    point.prune_now = progress.step == start ? 1 : 0;
    point.stage = static_cast<int32_t>(index);
    return point;
}

}  // namespace cap::schedules
