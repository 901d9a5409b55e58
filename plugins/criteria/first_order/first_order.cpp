// criteria/first_order: CAP-f's structured criterion (docs/algorithms.md §2). The importance
// of a head or FFN neuron is the accumulated |d loss / d mask| over the importance pass,
// optionally L2-normalised per layer; select() prunes the lowest scores globally among units
// still kept, after protecting the best min_heads_per_layer heads of every layer.
//
// The reference ranks *all* heads of a layer when it picks the protected ones, pruned heads
// included, so a protected head may already be gone and the guarantee is not strict. That is
// the default here (paper runs match); protect_kept_heads_only = true gives the strict rule.
#include <cmath>

#include "cap/plugin_torch.hpp"

namespace {

class FirstOrder : public cap::Criterion {
public:
    static cap::Metadata metadata() {
        return {"first_order",
                "1.0.0",
                "heads and FFN neurons by accumulated |d loss / d mask| (Michel et al.; CAP-f)",
                {cap::Option::Bool("normalize_by_layer", true,
                                   "divide each layer's scores by their L-p norm (--normalize_pruning_by_layer)"),
                 cap::Option::Float("normalize_exponent", 2.0, "the p of the layer-wise norm").range(1e-3, 1e3),
                 cap::Option::Bool("protect_kept_heads_only", false,
                                   "protect each layer's best heads among those still kept (the reference "
                                   "ranks pruned heads too)")}};
    }

    FirstOrder(const cap::Host&, const cap::Options& options)
        : normalize_(options.get_bool("normalize_by_layer")),
          exponent_(options.get_float("normalize_exponent")),
          protect_kept_only_(options.get_bool("protect_kept_heads_only")) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_STRUCTURED;
        i.needs = CAP_NEEDS_MASK_GRADS;
        return i;
    }

    void reset() override { sums_.clear(); }

    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups groups) override {
        if (sums_.empty()) sums_.resize(groups.size());
        if (sums_.size() != groups.size()) cap::fail("the number of groups changed between batches");
        for (uint32_t i = 0; i < groups.size(); ++i) {
            at::Tensor g = cap::expect(groups[i].mask_grad, at::kFloat, 2, "mask_grad").abs();
            sums_[i] = sums_[i].defined() ? sums_[i] + g : g.clone();
        }
    }

    void importance(const cap_exec_context&, cap::Groups groups, cap::Outputs out) override {
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(out[i], scores(groups, i));
    }

    void select(const cap_exec_context&, const cap_selection& selection, const cap_constraints& constraints,
                cap::Groups groups, cap::Outputs new_masks) override {
        for (uint32_t i = 0; i < groups.size(); ++i) {
            at::Tensor mask = cap::expect(groups[i].mask, at::kFloat, 2, "mask");
            const bool heads = groups[i].unit_kind == CAP_UNITS_HEADS;
            if (!heads && groups[i].unit_kind != CAP_UNITS_FFN_NEURONS)
                cap::fail(std::string("group ") + groups[i].name + " is neither heads nor FFN neurons");
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
        at::Tensor mask = cap::to_aten(groups[i].mask);
        at::Tensor s = i < sums_.size() && sums_[i].defined() ? sums_[i] : at::zeros_like(mask);
        if (!normalize_) return s;
        at::Tensor norm = s.pow(exponent_).sum(-1).pow(1.0 / exponent_);
        return s / (norm.unsqueeze(-1) + 1e-20);
    }

    bool normalize_;
    double exponent_;
    bool protect_kept_only_;
    std::vector<at::Tensor> sums_;
};

}  // namespace

CAP_PLUGIN(FirstOrder)
