// What the recipe's [finetune] and [prune] tables set: plain values, no LibTorch, shared by the
// recipe code and the training code.
#pragma once

#include <cstdint>
#include <string>

namespace cap::settings {

struct FineTuneSettings {
    int64_t batch_size = 32;
    double epochs = 3;
    double learning_rate = 2e-5;
    double weight_decay = 0.0;
    double warmup_ratio = 0.0;
    int64_t warmup_steps = 0;  // when > 0, the warm-up in steps (the ratio is then ignored)
    double max_grad_norm = 1.0;
    double adam_epsilon = 1e-8;
    int64_t eval_batch_size = 128;
    int64_t log_every = 50;  // steps between progress lines
    int64_t keep_checkpoints = 1;
    int64_t checkpoint_every_steps = 0;  // also checkpoint inside an epoch every N steps (0: epoch ends only)
};

// Training while pruning and the importance pass. The defaults are the reference's
// S/run_glue.sh (CAP-f), whose stages set their own epochs; `epochs` serves per-step schedules
// (CAP-m, CAP-soft: the reference's U/*.sh train 10 epochs).
struct PruneSettings {
    FineTuneSettings train = [] {
        FineTuneSettings t;
        t.batch_size = 16;
        t.learning_rate = 2e-5;
        t.weight_decay = 0.01;
        t.warmup_ratio = 0.1;
        t.epochs = 10;  // per-step schedules only (the reference's U/*.sh); stages set their own
        return t;
    }();
    double ce_weight = 0.1;              // cross-entropy's weight next to distillation
    std::string representation = "cls";  // what the contrastive modules compare: "cls" or "mean"
    double importance_subset = 1.0;      // fraction of the training set the importance pass reads
    int64_t importance_batch_size = 16;
    bool save_masked = true;        // also save the dense model with pruned weights zeroed
    bool freeze_embeddings = true;  // unstructured runs: the reference freezes the embeddings
};

}  // namespace cap::settings
