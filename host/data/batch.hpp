// Tokenized examples and the padded tensors a training or evaluation step consumes.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "model/bert.hpp"

namespace cap::data {

// One model input: token ids and token types, unpadded.
struct Encoded {
    std::vector<int32_t> ids;
    std::vector<int8_t> types;
};

struct Batch {
    model::BertBatch inputs;
    at::Tensor labels;           // [B] int64, classification
    at::Tensor start_positions;  // [B] int64, span training
    at::Tensor end_positions;    // [B] int64, span training
    at::Tensor indices;          // [B] int64: training-example (or feature) index of each row
    int64_t examples = 0;
    int64_t tokens = 0;  // non-padding tokens

    Batch to(const at::Device& device) const;
};

// Pads `rows` to the longest among them (dynamic padding): attention_mask marks real tokens.
Batch collate(const std::vector<const Encoded*>& rows, int32_t pad_id);

}  // namespace cap::data
