#include "model/weight_masks.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <stdexcept>

namespace cap::model {

WeightMasks::WeightMasks(Bert& model) {
    for (int64_t l = 0; l < model->config().num_hidden_layers; ++l)
        for (int k = 0; k < kEncoderLinears; ++k) {
            const auto which = static_cast<EncoderLinear>(k);
            const at::Tensor& w = model->linear_weight(l, which);
            slots_.push_back({l, which, encoder_linear_name(l, which), at::ones_like(w).detach(), at::Tensor()});
        }
}

void WeightMasks::create_scores(double initial) {
    for (auto& s : slots_) s.scores = at::full_like(s.mask, initial).requires_grad_(true);
}

std::vector<at::Tensor> WeightMasks::scores() const {
    std::vector<at::Tensor> out;
    for (const auto& s : slots_) out.push_back(s.scores);
    return out;
}

void WeightMasks::binarize(const Binarizer& binarize) {
    std::vector<at::Tensor> scores;  // empty when the masks follow something else (magnitude)
    for (const auto& s : slots_)
        if (s.scores.defined()) scores.push_back(s.scores.detach());
    torch::NoGradGuard no_grad;
    auto masks = binarize(scores);
    if (masks.size() != slots_.size()) throw std::invalid_argument("binarizer returned the wrong number of masks");
    for (size_t i = 0; i < slots_.size(); ++i) {
        if (!masks[i].sizes().equals(slots_[i].mask.sizes()))
            throw std::invalid_argument("mask for " + slots_[i].name + " has the wrong shape");
        slots_[i].mask = masks[i].to(slots_[i].mask.options()).detach();
    }
}

WeightTransform WeightMasks::transform() const {
    // Index by (layer, linear) once; the hook runs for every linear of every forward pass.
    std::vector<const Slot*> index(slots_.size());
    for (const auto& s : slots_) index[static_cast<size_t>(s.layer * kEncoderLinears + static_cast<int>(s.which))] = &s;
    return [index](int64_t layer, EncoderLinear which, const at::Tensor& weight) -> at::Tensor {
        const Slot& s = *index.at(static_cast<size_t>(layer * kEncoderLinears + static_cast<int>(which)));
        if (!s.scores.defined()) return weight * s.mask;
        // value M, gradient identity to S: M + S - stop_gradient(S)
        return weight * (s.mask + s.scores - s.scores.detach());
    };
}

double WeightMasks::kept_fraction() const {
    double kept = 0, total = 0;
    for (const auto& s : slots_) {
        kept += s.mask.sum().item<double>();
        total += static_cast<double>(s.mask.numel());
    }
    return total > 0 ? kept / total : 1.0;
}

}  // namespace cap::model
