// One eval-mode pass of a model over the whole training set, in index order: the
// representation of every example (for a contrastive bank) and, for a frozen teacher, its logits
// (for distillation), so neither has to be recomputed on every training batch.
#pragma once

#include <ATen/Tensor.h>

#include "data/task.hpp"
#include "model/bert.hpp"

namespace cap::prune {

struct TrainingSetEncoding {
    at::Tensor representations;  // [N, H] float32, L2-normalised; undefined unless asked for
    at::Tensor logits;           // classification: [N, C]; undefined unless asked for
    at::Tensor start_logits;     // span: [N, S_max], zero beyond each feature's length
    at::Tensor end_logits;
    at::Tensor labels;  // classification: [N] int64 gold labels
};

struct EncodingRequest {
    model::ForwardOptions masks;                     // the model's masks (representation is set from `pooling`)
    model::Pooling pooling = model::Pooling::kNone;  // kNone: no representations
    bool logits = false;
    int64_t batch_size = 128;
    at::Device device = at::kCPU;
    bool train_mode = false;  // dropout on, as the reference's unstructured snapshots are encoded
};

// Leaves the model in the mode it encoded in (eval unless train_mode).
TrainingSetEncoding encode_training_set(model::Bert& model, const data::Task& task, const EncodingRequest& request);

// Rows `indices` of a padded span-logit table, cut to `length` positions.
at::Tensor gather_positions(const at::Tensor& table, const at::Tensor& indices, int64_t length);

}  // namespace cap::prune
