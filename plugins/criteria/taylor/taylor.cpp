// criteria/taylor: weight-level first-order Taylor importance. A weight w with gradient g changes
// the loss by about -w * g when removed; its importance is |w * g| summed over the importance
// pass's batches (Molchanov et al. 2019). Structured (the default): a head's or FFN neuron's
// importance is the sum over the weights it owns; first_order differentiates the unit's mask
// instead, |sum over its weights of w * g| for the output side only. Unstructured
// (granularity = "unstructured"): single weights, kept per matrix (scope) at each stage of a
// one_shot or iterative schedule.
#include <vector>

#include "common/linear_units.hpp"
#include "common/structured_ranking.hpp"
#include "common/weight_ranking.hpp"

namespace {

class Taylor : public cap::criteria::StructuredRanking {
public:
    static constexpr uint16_t kRequiresHostMinor = 3;  // 1.2: the groups' linears; 1.3: single weights at stages

    static cap::Metadata metadata() {
        auto options = ranking_options(/*normalize_default=*/false);
        options.push_back(cap::criteria::granularity_option());
        options.push_back(cap::criteria::weight_scope_option("matrix"));
        return {"taylor", "1.1.0",
                "heads and FFN neurons, or single weights, by the accumulated |w * dL/dw| (first-order Taylor)",
                options};
    }

    Taylor(const cap::Host&, const cap::Options& options)
        : StructuredRanking(options),
          unstructured_(options.get_string("granularity") == "unstructured"),
          scope_(cap::criteria::weight_scope(options.get_string("scope"))) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = unstructured_ ? CAP_GRANULARITY_UNSTRUCTURED : CAP_GRANULARITY_STRUCTURED;
        i.needs = CAP_NEEDS_WEIGHTS | CAP_NEEDS_WEIGHT_GRADS;
        return i;
    }

    void reset() override {
        sums_.clear();
        per_weight_.clear();
    }

    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups groups) override {
        if (unstructured_) {
            if (per_weight_.empty()) per_weight_.resize(groups.size());
            if (per_weight_.size() != groups.size()) cap::fail("the number of groups changed between batches");
            for (uint32_t i = 0; i < groups.size(); ++i) {
                at::Tensor t = weight_taylor(groups[i]);
                per_weight_[i] = per_weight_[i].defined() ? per_weight_[i] + t : t;
            }
            return;
        }
        for (uint32_t i = 0; i < groups.size(); ++i)
            sums_.add(groups, i, cap::criteria::unit_sums(groups, i, [](const cap_unit_group& l, uint32_t) {
                          return weight_taylor(l);
                      }));
    }

    void importance(const cap_exec_context& ctx, cap::Groups groups, cap::Outputs out) override {
        if (!unstructured_) return StructuredRanking::importance(ctx, groups, out);
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(out[i], seen(i));
    }

    void select(const cap_exec_context& ctx, const cap_selection& selection, const cap_constraints& constraints,
                cap::Groups groups, cap::Outputs new_masks) override {
        if (!unstructured_) return StructuredRanking::select(ctx, selection, constraints, groups, new_masks);
        std::vector<at::Tensor> importance, masks;
        for (uint32_t i = 0; i < groups.size(); ++i) {
            importance.push_back(seen(i));
            masks.push_back(cap::expect(groups[i].mask, at::kFloat, 2, "mask"));
        }
        auto chosen = cap::criteria::keep_most_important(importance, masks, selection.keep_fraction, scope_);
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(new_masks[i], chosen[i]);
    }

private:
    static at::Tensor weight_taylor(const cap_unit_group& l) {
        at::Tensor w = cap::expect(l.weight, at::kFloat, 2, "weight");
        at::Tensor g = cap::expect(l.weight_grad, at::kFloat, 2, "weight_grad");
        return (w * g).abs();
    }

    const at::Tensor& seen(uint32_t i) const {
        if (i >= per_weight_.size() || !per_weight_[i].defined())
            cap::fail("taylor has seen no batch: an importance pass must run before importance()");
        return per_weight_[i];
    }

    at::Tensor raw_scores(cap::Groups groups, uint32_t i) const override { return sums_.get(groups, i); }

    bool unstructured_;
    cap::criteria::WeightScope scope_;
    cap::criteria::GroupSums sums_;       // structured: per group, per unit
    std::vector<at::Tensor> per_weight_;  // unstructured: per linear, the weight's shape
};

}  // namespace

CAP_PLUGIN(Taylor)
