// criteria/wanda: activation-aware magnitude (Sun et al. 2023, "Wanda"). A weight's importance is
// |w_ij| * ||X_j||, where ||X_j|| is the L2 norm of its input feature j over every non-padding
// token of the importance pass (the calibration set). Structured (the default): a head's or FFN
// neuron's importance is the sum over the weights it owns. Unstructured (granularity =
// "unstructured"): single weights, compared within each output row as in the paper (scope). No
// gradients: with a one-shot schedule it prunes without retraining (configs/baselines/wanda-*).
#include <vector>

#include "common/linear_units.hpp"
#include "common/structured_ranking.hpp"
#include "common/weight_ranking.hpp"

namespace {

class Wanda : public cap::criteria::StructuredRanking {
public:
    static constexpr uint16_t kRequiresHostMinor = 3;  // 1.2: the groups' linears; 1.3: single weights at stages

    static cap::Metadata metadata() {
        auto options = ranking_options(/*normalize_default=*/false);
        options.push_back(cap::criteria::granularity_option());
        options.push_back(cap::criteria::weight_scope_option("row"));
        return {"wanda", "1.1.0",
                "single weights by |w| * ||x||, or heads and FFN neurons by its sum over the weights they own "
                "(Sun et al.; Wanda)",
                options};
    }

    Wanda(const cap::Host&, const cap::Options& options)
        : StructuredRanking(options),
          unstructured_(options.get_string("granularity") == "unstructured"),
          scope_(cap::criteria::weight_scope(options.get_string("scope"))) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = unstructured_ ? CAP_GRANULARITY_UNSTRUCTURED : CAP_GRANULARITY_STRUCTURED;
        i.needs = CAP_NEEDS_WEIGHTS | CAP_NEEDS_INPUT_NORMS;
        return i;
    }

    void reset() override { squares_.clear(); }

    // Sums each linear's per-feature squared input norms over the batches. Structured groups hold
    // their linears; unstructured groups are the linears.
    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups groups) override {
        if (squares_.empty()) squares_.resize(groups.size());
        if (squares_.size() != groups.size()) cap::fail("the number of groups changed between batches");
        for (uint32_t i = 0; i < groups.size(); ++i) {
            auto& sums = squares_[i];
            if (unstructured_) {
                add(sums, 0, groups[i]);
                continue;
            }
            const auto linears = groups.linears(i);
            for (size_t k = 0; k < linears.size(); ++k) add(sums, k, linears[k]);
        }
    }

    void importance(const cap_exec_context& ctx, cap::Groups groups, cap::Outputs out) override {
        if (!unstructured_) return StructuredRanking::importance(ctx, groups, out);
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(out[i], per_weight(groups[i], i, 0));
    }

    void select(const cap_exec_context& ctx, const cap_selection& selection, const cap_constraints& constraints,
                cap::Groups groups, cap::Outputs new_masks) override {
        if (!unstructured_) return StructuredRanking::select(ctx, selection, constraints, groups, new_masks);
        std::vector<at::Tensor> importance, masks;
        for (uint32_t i = 0; i < groups.size(); ++i) {
            importance.push_back(per_weight(groups[i], i, 0));
            masks.push_back(cap::expect(groups[i].mask, at::kFloat, 2, "mask"));
        }
        auto chosen = cap::criteria::keep_most_important(importance, masks, selection.keep_fraction, scope_);
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(new_masks[i], chosen[i]);
    }

private:
    static void add(std::vector<at::Tensor>& sums, size_t k, const cap_unit_group& linear) {
        at::Tensor sq = cap::expect(linear.input_sq_norms, at::kFloat, 1, "input_sq_norms");
        if (sums.size() <= k) sums.resize(k + 1);
        sums[k] = sums[k].defined() ? sums[k] + sq : sq.clone();
    }

    // |W| * ||X|| of linear k of group i.
    at::Tensor per_weight(const cap_unit_group& l, uint32_t i, size_t k) const {
        if (i >= squares_.size() || squares_[i].empty())
            cap::fail("wanda has seen no batch: an importance pass must run before importance()");
        const auto& sums = squares_[i];
        at::Tensor w = cap::expect(l.weight, at::kFloat, 2, "weight");
        if (k >= sums.size() || !sums[k].defined() || sums[k].numel() != w.size(1))
            cap::fail(std::string("linear ") + l.name + ": its input norms do not fit its weight");
        return w.abs() * sums[k].sqrt().unsqueeze(0);
    }

    at::Tensor raw_scores(cap::Groups groups, uint32_t i) const override {
        return cap::criteria::unit_sums(groups, i,
                                        [&](const cap_unit_group& l, uint32_t k) { return per_weight(l, i, k); });
    }

    bool unstructured_;
    cap::criteria::WeightScope scope_;
    std::vector<std::vector<at::Tensor>> squares_;  // per group, per linear: sum over tokens of x^2
};

}  // namespace

CAP_PLUGIN(Wanda)
