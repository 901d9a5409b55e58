// What the recipe's [finetune] table sets (kept free of LibTorch so recipe code stays light).
#pragma once

#include <cstdint>

namespace cap::train {

struct FineTuneSettings {
    int64_t batch_size = 32;
    double epochs = 3;
    double learning_rate = 2e-5;
    double weight_decay = 0.0;
    double warmup_ratio = 0.0;
    double max_grad_norm = 1.0;
    double adam_epsilon = 1e-8;
    int64_t eval_batch_size = 128;
    int64_t log_every = 50;        // steps between progress lines
    int64_t keep_checkpoints = 1;
};

}  // namespace cap::train
