// Selection for unstructured, importance-based criteria (taylor and wanda per weight): keep the
// highest-importance weights per output row (as Wanda compares), per matrix, or across every
// matrix. Weights pruned before stay pruned. Header-only, like its neighbours.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/unstructured.hpp"

namespace cap::criteria {

enum class WeightScope { kRow, kMatrix, kGlobal };

inline cap::Option weight_scope_option(const char* default_scope) {
    return cap::Option::String("scope", default_scope,
                               "unstructured: compare weights within each output row, each matrix, or all "
                               "matrices at once")
        .choices({"row", "matrix", "global"});
}

inline WeightScope weight_scope(const std::string& name) {
    if (name == "row") return WeightScope::kRow;
    if (name == "global") return WeightScope::kGlobal;
    return WeightScope::kMatrix;
}

// The granularity option both criteria share; structured is the default, as before it existed.
inline cap::Option granularity_option() {
    return cap::Option::String("granularity", "structured",
                               "structured (heads and FFN neurons) or unstructured (single weights, at the stages "
                               "of one_shot or iterative)")
        .choices({"structured", "unstructured"});
}

// New masks keeping, by importance, in - int(in * (1 - keep_fraction)) weights of each row (scope
// row, Wanda's rounding), or int(keep_fraction * n) of each matrix or of all weights (as magnitude
// does); a weight whose current mask is 0 ranks last and stays 0.
inline std::vector<at::Tensor> keep_most_important(const std::vector<at::Tensor>& importance,
                                                   const std::vector<at::Tensor>& masks, double keep_fraction,
                                                   WeightScope scope) {
    std::vector<at::Tensor> ranked;
    for (size_t i = 0; i < importance.size(); ++i)
        ranked.push_back(importance[i].to(at::kFloat).masked_fill(masks[i] == 0, -INFINITY));
    std::vector<at::Tensor> out;
    if (scope == WeightScope::kRow) {
        for (const auto& r : ranked) {
            // Wanda's count: each row prunes int(in * sparsity) and keeps the rest.
            const int64_t in = r.size(1);
            const int64_t k = in - kept_count(1.0 - keep_fraction, in);
            at::Tensor m = at::zeros_like(r);
            if (k > 0) m.scatter_(1, std::get<1>(r.topk(k, /*dim=*/1, /*largest=*/true, /*sorted=*/false)), 1.0);
            out.push_back(m);
        }
    } else {
        out = top_k_masks(ranked, keep_fraction, scope == WeightScope::kGlobal);
    }
    for (size_t i = 0; i < out.size(); ++i) out[i] = out[i] * (masks[i] != 0).to(at::kFloat);
    return out;
}

}  // namespace cap::criteria
