// Dropout with a counter-based generator. LibTorch 1.13's CPU dropout draws one number at a time
// from a locked Mersenne twister (~10 ms per million elements here), which made dropout the
// largest cost of a small BERT's training step. This one hashes (seed, element index) with
// splitmix64, in parallel: the same mask for the same seed whatever the thread count, and the
// seed comes from LibTorch's generator, so at::manual_seed still makes runs repeatable.
// CUDA tensors use LibTorch's own (fast) dropout.
#pragma once

#include <ATen/Tensor.h>

namespace cap::model {

at::Tensor dropout(const at::Tensor& input, double p, bool training);

}  // namespace cap::model
