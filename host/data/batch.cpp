#include "data/batch.hpp"

#include <ATen/ATen.h>

#include <algorithm>

namespace cap::data {

Batch Batch::to(const at::Device& device) const {
    auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device) : t; };
    Batch b = *this;
    b.inputs.input_ids = move(inputs.input_ids);
    b.inputs.token_type_ids = move(inputs.token_type_ids);
    b.inputs.attention_mask = move(inputs.attention_mask);
    b.labels = move(labels);
    b.start_positions = move(start_positions);
    b.end_positions = move(end_positions);
    b.indices = move(indices);
    return b;
}

Batch collate(const std::vector<const Encoded*>& rows, int32_t pad_id) {
    const auto n = static_cast<int64_t>(rows.size());
    int64_t length = 1;
    for (const auto* r : rows) length = std::max<int64_t>(length, static_cast<int64_t>(r->ids.size()));
    at::Tensor ids = at::full({n, length}, pad_id, at::kLong);
    at::Tensor types = at::zeros({n, length}, at::kLong);
    at::Tensor mask = at::zeros({n, length}, at::kLong);
    auto ids_a = ids.accessor<int64_t, 2>();
    auto types_a = types.accessor<int64_t, 2>();
    auto mask_a = mask.accessor<int64_t, 2>();
    Batch b;
    for (int64_t i = 0; i < n; ++i) {
        const auto& r = *rows[static_cast<size_t>(i)];
        for (size_t j = 0; j < r.ids.size(); ++j) {
            ids_a[i][static_cast<int64_t>(j)] = r.ids[j];
            types_a[i][static_cast<int64_t>(j)] = r.types.empty() ? 0 : r.types[j];
            mask_a[i][static_cast<int64_t>(j)] = 1;
        }
        b.tokens += static_cast<int64_t>(r.ids.size());
    }
    b.inputs = {ids, types, mask};
    b.examples = n;
    return b;
}

}  // namespace cap::data
