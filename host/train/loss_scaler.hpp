// Dynamic loss scaling for float16 training, as torch.amp.GradScaler does it: the loss is
// multiplied by a large scale before backward() so that small gradients survive float16; the
// gradients are divided by it before the update; a step whose gradients hold inf or NaN is
// skipped and the scale halved, and after `growth_interval` clean steps in a row it doubles.
// bfloat16 has float32's range and needs none of this.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace cap::train {

struct LossScalerState {
    double scale = 65536.0;     // 2^16, GradScaler's default
    int64_t clean_steps = 0;    // finite steps since the scale last changed
    int64_t skipped_steps = 0;  // steps skipped for inf/NaN gradients, over the whole stage
};

struct LossScalerSettings {
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int64_t growth_interval = 2000;
};

class LossScaler {
public:
    LossScaler() = default;
    explicit LossScaler(LossScalerState state, LossScalerSettings settings = LossScalerSettings())
        : state_(state), settings_(settings) {}

    at::Tensor scale(const at::Tensor& loss) const { return loss * state_.scale; }
    // Divides the gradients of `tensors` (undefined gradients are skipped) by the scale, in
    // place; returns false when any of them holds inf or NaN. One device-to-host read per call.
    bool unscale(const std::vector<at::Tensor>& tensors) const;
    // Records the step's outcome: a skipped step backs the scale off, enough clean ones grow it.
    void update(bool finite);

    const LossScalerState& state() const { return state_; }

private:
    LossScalerState state_;
    LossScalerSettings settings_;
};

}  // namespace cap::train
