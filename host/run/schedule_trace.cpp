#include "run/schedule_trace.hpp"

#include <cmath>
#include <cstdio>

namespace cap::run {

namespace {
std::string format(const char* fmt, double a, double b, double c, double d, double e, double f, double g) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), fmt, a, b, c, d, e, f, g);
    return buf;
}
}  // namespace

cap_progress progress_at(int64_t step, int64_t total_steps, int64_t steps_per_epoch) {
    cap_progress p{};
    p.struct_size = sizeof(p);
    p.step = step;
    p.total_steps = total_steps;
    p.steps_per_epoch = steps_per_epoch;
    p.epoch = step / steps_per_epoch;
    p.total_epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;
    return p;
}

ScheduleTrace trace_schedule(const host::SchedulePlugin& schedule, const cap_model_shape& shape,
                             const cap_constraints& constraints, int64_t steps_per_epoch) {
    schedule.bind(shape, constraints);
    const auto stages = schedule.stages();
    const int64_t heads = int64_t{shape.num_layers} * shape.num_heads;
    const int64_t neurons = int64_t{shape.num_layers} * shape.intermediate_size;

    ScheduleTrace t;
    auto& j = t.json;
    j["plugin"] = schedule.instance().label();
    j["shape"] = {{"num_layers", shape.num_layers},
                  {"num_heads", shape.num_heads},
                  {"hidden_size", shape.hidden_size},
                  {"intermediate_size", shape.intermediate_size}};
    j["min_heads_per_layer"] = constraints.min_heads_per_layer;
    j["nominal_steps_per_epoch"] = steps_per_epoch;
    j["stages"] = nlohmann::ordered_json::array();

    double total_epochs = 0;
    int64_t heads_pruned = 0, neurons_pruned = 0;
    if (!stages.empty()) t.lines.push_back("stage  target  heads-  ffn-     heads left  ffn left  retrain");
    for (size_t i = 0; i < stages.size(); ++i) {
        const auto& s = stages[i];
        heads_pruned += s.heads_to_prune;
        neurons_pruned += s.ffn_to_prune;
        total_epochs += s.retrain_epochs;
        j["stages"].push_back({{"stage", i},
                               {"target_sparsity", s.target_sparsity},
                               {"heads_to_prune", s.heads_to_prune},
                               {"ffn_to_prune", s.ffn_to_prune},
                               {"heads_remaining", heads - heads_pruned},
                               {"ffn_remaining", neurons - neurons_pruned},
                               {"retrain_epochs", s.retrain_epochs}});
        t.lines.push_back(format("%5.0f  %5.1f%%  %6.0f  %7.0f  %10.0f  %8.0f  %.1f ep", double(i),
                                 100 * s.target_sparsity, double(s.heads_to_prune), double(s.ffn_to_prune),
                                 double(heads - heads_pruned), double(neurons - neurons_pruned), s.retrain_epochs));
    }
    if (stages.empty()) total_epochs = 10;  // continuous schedules: a nominal 10-epoch run
    const int64_t total_steps = std::max<int64_t>(1, std::llround(total_epochs * steps_per_epoch));

    // Sample the first step of every stage, plus ten evenly spaced steps.
    std::vector<int64_t> steps;
    int64_t start = 0;
    for (const auto& s : stages) {
        steps.push_back(start);
        start += s.retrain_epochs > 0 ? std::max<int64_t>(1, std::llround(s.retrain_epochs * steps_per_epoch)) : 0;
    }
    for (int k = 0; k <= 10; ++k) steps.push_back(std::min(total_steps - 1, total_steps * k / 10));
    std::sort(steps.begin(), steps.end());
    steps.erase(std::unique(steps.begin(), steps.end()), steps.end());

    j["total_steps"] = total_steps;
    j["points"] = nlohmann::ordered_json::array();
    for (int64_t step : steps) {
        const cap_progress p = progress_at(step, total_steps, steps_per_epoch);
        const auto point = schedule.at(p);
        j["points"].push_back({{"step", step},
                               {"epoch", p.epoch},
                               {"target_kind", point.target_kind == CAP_TARGET_THRESHOLD ? "threshold" : "sparsity"},
                               {"target", point.target},
                               {"prune_now", point.prune_now != 0},
                               {"stage", point.stage}});
    }
    return t;
}

}  // namespace cap::run
