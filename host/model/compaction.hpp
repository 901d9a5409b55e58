// Physical compaction: a smaller model without the heads and FFN neurons a mask removed, whose
// outputs equal the masked model's. Pruned heads are recorded as Hugging Face's pruned_heads;
// per-layer FFN widths as intermediate_sizes (cap's key) unless every layer keeps the same
// number, in which case intermediate_size changes and Hugging Face can load the result.
#pragma once

#include "model/bert.hpp"

namespace cap::model {

// `head_mask` is [layers, num_attention_heads] over the original heads; `ffn_mask` is
// [layers, intermediate_size] (the model's FFN must not be compacted already). 0 = remove.
// Either may be undefined (nothing of that kind removed). Returns a new model in eval mode.
Bert compact(Bert& model, const at::Tensor& head_mask, const at::Tensor& ffn_mask);

// In place: zeroes the weights a mask removes (a pruned head's query, key and value rows and
// biases and its columns of the attention output; a pruned neuron's intermediate row and bias
// and its column of the FFN output), so the dense model computes what the masked one does and
// loads anywhere. Same mask shapes as compact(); the model must not be compacted already.
void zero_pruned_weights(Bert& model, const at::Tensor& head_mask, const at::Tensor& ffn_mask);

}  // namespace cap::model
