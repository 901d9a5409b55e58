#include "prune/importance_pass.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <numeric>

namespace cap::prune {

cap_batch_info batch_info(const data::Batch& batch) {
    cap_batch_info b{};
    b.struct_size = sizeof(b);
    b.examples = batch.examples;
    b.tokens = batch.tokens;
    return b;
}

void run_importance_pass(model::Bert& model, const data::Task& task, const Objective& objective,
                         const ImportancePass& pass, const cap_progress& progress, LinearEvidence& evidence,
                         const std::function<PassForward()>& prepare,
                         const std::function<void(const data::Batch&, const std::vector<at::Tensor>&)>& visit) {
    const auto n = static_cast<int64_t>(task.train_size());
    const auto examples = std::max<int64_t>(1, std::min<int64_t>(n, std::llround(std::ceil(pass.subset * double(n)))));
    model->eval();
    // Parameters need no gradient here: only the leaves' are wanted, and the linears' weights'
    // when the criterion asks for them.
    std::vector<std::pair<at::Tensor, bool>> params;
    for (auto& p : model->parameters()) params.emplace_back(p, p.requires_grad());
    for (auto& [p, _] : params) p.requires_grad_(false);
    for (auto w : evidence.grad_weights()) w.requires_grad_(true);
    // Mask gradients of a float16 pass would underflow without loss scaling: a float16 run takes
    // its importance pass in float32 (bfloat16 has float32's range and keeps its autocast).
    const at::ScalarType compute = model->compute_dtype();
    if (compute == at::kHalf) model->set_compute_dtype(at::kFloat);
    auto restore = [&] {
        for (auto& [p, flag] : params) p.requires_grad_(flag);
        model->set_compute_dtype(compute);
    };
    try {
        for (int64_t begin = 0; begin < examples; begin += pass.batch_size) {
            std::vector<int64_t> indices(static_cast<size_t>(std::min(pass.batch_size, examples - begin)));
            std::iota(indices.begin(), indices.end(), begin);
            data::Batch batch = task.train_batch(indices).to(pass.device);
            PassForward forward = prepare();
            forward.options.inputs = evidence.observer(batch.inputs.attention_mask);
            train::StepLoss loss = objective.compute(model, batch, forward.options, progress);
            std::vector<at::Tensor> wrt = forward.leaves;
            wrt.insert(wrt.end(), evidence.grad_weights().begin(), evidence.grad_weights().end());
            std::vector<at::Tensor> leaf_grads;
            if (!wrt.empty()) {
                auto grads = torch::autograd::grad({loss.loss}, wrt, {}, false, false, true);
                const size_t leaves = forward.leaves.size();
                for (size_t i = 0; i < leaves; ++i)
                    leaf_grads.push_back(grads[i].defined() ? grads[i].detach() : at::zeros_like(forward.leaves[i]));
                evidence.set_weight_grads({grads.begin() + static_cast<std::ptrdiff_t>(leaves), grads.end()});
            }
            visit(batch, leaf_grads);
        }
    } catch (...) {
        restore();
        throw;
    }
    restore();
}

}  // namespace cap::prune
