#include "train/loss_scaler.hpp"

#include <ATen/ATen.h>

namespace cap::train {

bool LossScaler::unscale(const std::vector<at::Tensor>& tensors) const {
    std::vector<at::Tensor> grads;
    for (const auto& t : tensors)
        if (t.grad().defined() && t.grad().numel() > 0) grads.push_back(t.grad());
    if (grads.empty()) return true;
    const auto options = grads.front().options().dtype(at::kFloat);
    at::Tensor found_inf = at::zeros({1}, options);
    if (grads.front().is_cuda()) {
        // LibTorch's fused kernel: one pass over each gradient, no read back until the end.
        at::Tensor inv_scale = at::full({1}, 1.0 / state_.scale, options);
        at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
    } else {
        at::NoGradGuard no_grad;
        for (auto& g : grads) {
            g.mul_(1.0 / state_.scale);
            found_inf.add_(g.isfinite().logical_not().any().to(at::kFloat));
        }
    }
    return found_inf.item<float>() == 0.0f;
}

void LossScaler::update(bool finite) {
    if (!finite) {
        state_.scale *= settings_.backoff_factor;
        state_.clean_steps = 0;
        ++state_.skipped_steps;
        return;
    }
    if (++state_.clean_steps >= settings_.growth_interval) {
        state_.scale *= settings_.growth_factor;
        state_.clean_steps = 0;
    }
}

}  // namespace cap::train
