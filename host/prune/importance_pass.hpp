// The importance pass both kinds of pruning event share (structured heads and neurons, single
// weights): eval mode, batches of the training set's first examples in order, the full training
// loss, and the gradients the criterion asked for (of the masks handed in as leaves, of the
// linears' weights), with input statistics gathered on the way. What each batch's evidence
// becomes (the groups, accumulate()) is the caller's.
#pragma once

#include <ATen/Tensor.h>

#include <functional>
#include <vector>

#include "data/task.hpp"
#include "prune/linear_evidence.hpp"
#include "prune/objective.hpp"

namespace cap::prune {

struct ImportancePass {
    double subset = 1.0;  // fraction of the training set, its first examples, unshuffled
    int64_t batch_size = 16;
    at::Device device = at::kCPU;
};

// One batch's forward pass as the caller wants it: its options, and the leaves (masks that
// require grad) whose gradients it wants back.
struct PassForward {
    model::ForwardOptions options;
    std::vector<at::Tensor> leaves;
};

// Runs the pass. Per batch: `prepare()` gives the forward pass; after backward, `evidence` holds
// the batch's weight gradients and input statistics and `visit` receives the batch and the
// leaves' gradients (zeros where a leaf got none). Parameters' requires_grad and the model's
// compute dtype are restored whatever happens.
void run_importance_pass(model::Bert& model, const data::Task& task, const Objective& objective,
                         const ImportancePass& pass, const cap_progress& progress, LinearEvidence& evidence,
                         const std::function<PassForward()>& prepare,
                         const std::function<void(const data::Batch&, const std::vector<at::Tensor>&)>& visit);

// The batch's sizes as a criterion sees them.
cap_batch_info batch_info(const data::Batch& batch);

}  // namespace cap::prune
