// Common ground of the structured, importance-based criteria (first_order, structured_magnitude,
// taylor, wanda): optional per-layer normalisation of the scores, and select(), which prunes the
// lowest-scoring kept units across all layers after protecting each layer's best heads
// (docs/algorithms.md §2). A criterion only says how important each head and FFN neuron is.
// Header-only; each plugin compiles its own copy.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "cap/plugin_torch.hpp"

namespace cap::criteria {

// One running sum per group over the importance pass's batches, for criteria that add up
// evidence (first_order, taylor); zeros before the first batch.
class GroupSums {
public:
    void clear() { sums_.clear(); }
    void add(cap::Groups groups, uint32_t i, const at::Tensor& batch) {
        if (sums_.empty()) sums_.resize(groups.size());
        if (sums_.size() != groups.size()) cap::fail("the number of groups changed between batches");
        sums_[i] = sums_[i].defined() ? sums_[i] + batch : batch.clone();
    }
    at::Tensor get(cap::Groups groups, uint32_t i) const {
        return i < sums_.size() && sums_[i].defined() ? sums_[i] : at::zeros_like(cap::to_aten(groups[i].mask));
    }

private:
    std::vector<at::Tensor> sums_;
};

class StructuredRanking : public cap::Criterion {
protected:
    // The ranking options; `normalize_default` is the criterion's own default.
    static std::vector<cap::Option> ranking_options(bool normalize_default) {
        return {cap::Option::Bool("normalize_by_layer", normalize_default,
                                  "divide each layer's scores by their L-p norm (--normalize_pruning_by_layer)"),
                cap::Option::Float("normalize_exponent", 2.0, "the p of the layer-wise norm").range(1e-3, 1e3),
                cap::Option::Bool("protect_kept_heads_only", false,
                                  "protect each layer's best heads among those still kept (the reference "
                                  "ranks pruned heads too)")};
    }

    explicit StructuredRanking(const cap::Options& options)
        : normalize_(options.get_bool("normalize_by_layer")),
          exponent_(options.get_float("normalize_exponent")),
          protect_kept_only_(options.get_bool("protect_kept_heads_only")) {}

    // The importance of group i's units ([layers, heads] or [layers, intermediate], float32,
    // higher = more important), before normalisation.
    virtual at::Tensor raw_scores(cap::Groups groups, uint32_t i) const = 0;

    static bool is_heads(const cap_unit_group& g) {
        if (g.unit_kind != CAP_UNITS_HEADS && g.unit_kind != CAP_UNITS_FFN_NEURONS)
            cap::fail(std::string("group ") + (g.name ? g.name : "") + " is neither heads nor FFN neurons");
        return g.unit_kind == CAP_UNITS_HEADS;
    }

public:
    void importance(const cap_exec_context&, cap::Groups groups, cap::Outputs out) override {
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(out[i], scores(groups, i));
    }

    void select(const cap_exec_context&, const cap_selection& selection, const cap_constraints& constraints,
                cap::Groups groups, cap::Outputs new_masks) override {
        for (uint32_t i = 0; i < groups.size(); ++i) {
            at::Tensor mask = cap::expect(groups[i].mask, at::kFloat, 2, "mask");
            const bool heads = is_heads(groups[i]);
            const int64_t n = heads ? selection.heads_to_prune : selection.ffn_to_prune;
            at::Tensor s = scores(groups, i).to(at::kDouble);
            at::Tensor candidate = mask != 0;
            if (heads && constraints.min_heads_per_layer > 0) {
                const int64_t keep = std::min<int64_t>(constraints.min_heads_per_layer, s.size(1));
                at::Tensor ranked = protect_kept_only_ ? s.masked_fill(mask == 0, -INFINITY) : s;
                at::Tensor best = std::get<1>(ranked.topk(keep, 1));
                candidate = candidate.scatter(1, best, false);
            }
            cap::write(new_masks[i], prune_lowest(s, candidate, mask, n, groups[i].name));
        }
    }

private:
    // Zeroes the n lowest-scoring candidates of `mask` (ties: the lower flat index first).
    static at::Tensor prune_lowest(const at::Tensor& s, const at::Tensor& candidate, const at::Tensor& mask, int64_t n,
                                   const char* group) {
        at::Tensor out = mask.clone();
        if (n <= 0) return out;
        const int64_t available = candidate.sum().item<int64_t>();
        if (available < n)
            cap::fail(std::string(group) + ": asked to prune " + std::to_string(n) + " more units but only " +
                      std::to_string(available) + " can go (kept and not protected)");
        at::Tensor ranked = s.flatten().masked_fill(candidate.flatten().logical_not(), INFINITY);
        at::Tensor order = std::get<1>(ranked.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
        out.view(-1).index_fill_(0, order.slice(0, 0, n), 0.0f);
        return out;
    }

    at::Tensor scores(cap::Groups groups, uint32_t i) const {
        at::Tensor s = raw_scores(groups, i);
        if (!normalize_) return s;
        at::Tensor norm = s.pow(exponent_).sum(-1).pow(1.0 / exponent_);
        return s / (norm.unsqueeze(-1) + 1e-20);
    }

    bool normalize_;
    double exponent_;
    bool protect_kept_only_;
};

}  // namespace cap::criteria
