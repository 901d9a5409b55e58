// AdamW with Hugging Face's conventions: no weight decay on biases and LayerNorm weights, and
// a learning rate that rises linearly over the warm-up steps and falls linearly to zero at the
// last step (get_linear_schedule_with_warmup: step s uses base * factor(s), so the first step
// of a warm-up uses a learning rate of zero).
#pragma once

#include <torch/optim/adamw.h>

#include <memory>

#include "model/bert.hpp"

namespace cap::train {

struct OptimizerSettings {
    double learning_rate = 2e-5;
    double weight_decay = 0.0;
    double adam_epsilon = 1e-8;
    int64_t warmup_steps = 0;
    int64_t total_steps = 1;
};

class LinearSchedule {
public:
    LinearSchedule(int64_t warmup_steps, int64_t total_steps) : warmup_(warmup_steps), total_(total_steps) {}
    double factor(int64_t step) const;

private:
    int64_t warmup_, total_;
};

// Parameters that require grad, split into a decayed and an undecayed group.
std::unique_ptr<torch::optim::AdamW> make_adamw(model::Bert& model, const OptimizerSettings& settings);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace cap::train
