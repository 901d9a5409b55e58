// Remaining weights counted as the reference's counts_parameters.py (docs/algorithms.md §6): only
// encoder tensors count; the masked linears count their kept entries, and every encoder bias and
// LayerNorm parameter counts as remaining. Embeddings, pooler and classifier are left out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/bert.hpp"
#include "model/weight_masks.hpp"

namespace cap::prune {

struct MatrixCount {
    int64_t layer;
    std::string matrix;  // "attention.self.query", ...
    int64_t kept, total;
};

struct RemainingWeights {
    std::vector<MatrixCount> matrices;
    int64_t unmasked = 0;  // encoder biases and LayerNorm parameters

    int64_t masked_total() const;
    int64_t masked_kept() const;
    int64_t encoder_total() const { return masked_total() + unmasked; }
    double percent() const;  // (kept + unmasked) / encoder total, in %
};

// `kept[i]` is the kept count of WeightMasks slot i (slot order: layer-major, the six linears).
RemainingWeights count_remaining(model::Bert& model, const std::vector<int64_t>& kept);
RemainingWeights count_remaining(model::Bert& model, const model::WeightMasks& masks);

// One row per matrix, one per layer ("all") and the global row; percentages of each row's own
// total, the global row counting biases and LayerNorm as the reference does.
std::string remaining_weights_csv(const RemainingWeights& counts);
// The per-layer lines the log prints.
std::vector<std::string> remaining_weights_lines(const RemainingWeights& counts);

}  // namespace cap::prune
