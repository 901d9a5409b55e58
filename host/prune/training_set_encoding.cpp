#include "prune/training_set_encoding.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <numeric>

namespace cap::prune {

namespace {

// [rows, S] tensors of different S, padded with zeros to the longest.
at::Tensor pad_and_stack(const std::vector<at::Tensor>& parts) {
    int64_t longest = 0;
    for (const auto& p : parts) longest = std::max(longest, p.size(1));
    std::vector<at::Tensor> padded;
    for (const auto& p : parts) padded.push_back(at::constant_pad_nd(p, {0, longest - p.size(1)}, 0));
    return at::cat(padded, 0);
}

}  // namespace

TrainingSetEncoding encode_training_set(model::Bert& model, const data::Task& task, const EncodingRequest& request) {
    if (request.train_mode)
        model->train();
    else
        model->eval();
    torch::NoGradGuard no_grad;
    model::ForwardOptions options = request.masks;
    options.representation = request.pooling;
    const auto n = static_cast<int64_t>(task.train_size());
    std::vector<at::Tensor> reps, logits, starts, ends, labels;
    for (int64_t begin = 0; begin < n; begin += request.batch_size) {
        std::vector<int64_t> indices(static_cast<size_t>(std::min(request.batch_size, n - begin)));
        std::iota(indices.begin(), indices.end(), begin);
        data::Batch batch = task.train_batch(indices).to(request.device);
        model::BertOutputs out = model->forward(batch.inputs, options);
        if (request.pooling != model::Pooling::kNone) reps.push_back(out.representation);
        if (batch.labels.defined()) labels.push_back(batch.labels);
        if (!request.logits) continue;
        if (task.head() == model::TaskHead::kClassification) {
            logits.push_back(out.logits);
        } else {
            at::Tensor valid = batch.inputs.attention_mask.to(out.start_logits.scalar_type());
            starts.push_back(out.start_logits * valid);
            ends.push_back(out.end_logits * valid);
        }
    }
    TrainingSetEncoding e;
    if (!reps.empty()) e.representations = at::cat(reps, 0).contiguous();
    if (!labels.empty()) e.labels = at::cat(labels, 0).contiguous();
    if (!logits.empty()) e.logits = at::cat(logits, 0).contiguous();
    if (!starts.empty()) {
        e.start_logits = pad_and_stack(starts);
        e.end_logits = pad_and_stack(ends);
    }
    return e;
}

at::Tensor gather_positions(const at::Tensor& table, const at::Tensor& indices, int64_t length) {
    at::Tensor rows = table.index_select(0, indices.to(table.device()));
    if (rows.size(1) >= length) return rows.slice(1, 0, length);
    return at::constant_pad_nd(rows, {0, length - rows.size(1)}, 0);
}

}  // namespace cap::prune
