// criteria/first_order: CAP-f's structured criterion (docs/algorithms.md §2). The importance
// of a head or FFN neuron is the accumulated |d loss / d mask| over the importance pass,
// optionally L2-normalised per layer; select() prunes the lowest scores globally among units
// still kept, after protecting the best min_heads_per_layer heads of every layer.
//
// The reference ranks *all* heads of a layer when it picks the protected ones, pruned heads
// included, so a protected head may already be gone and the guarantee is not strict. That is
// the default here (paper runs match); protect_kept_heads_only = true gives the strict rule.
#include "common/structured_ranking.hpp"

namespace {

class FirstOrder : public cap::criteria::StructuredRanking {
public:
    static cap::Metadata metadata() {
        return {"first_order", "1.0.0", "heads and FFN neurons by accumulated |d loss / d mask| (Michel et al.; CAP-f)",
                ranking_options(/*normalize_default=*/true)};
    }

    FirstOrder(const cap::Host&, const cap::Options& options) : StructuredRanking(options) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_STRUCTURED;
        i.needs = CAP_NEEDS_MASK_GRADS;
        return i;
    }

    void reset() override { sums_.clear(); }

    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups groups) override {
        for (uint32_t i = 0; i < groups.size(); ++i)
            sums_.add(groups, i, cap::expect(groups[i].mask_grad, at::kFloat, 2, "mask_grad").abs());
    }

private:
    at::Tensor raw_scores(cap::Groups groups, uint32_t i) const override { return sums_.get(groups, i); }

    cap::criteria::GroupSums sums_;
};

}  // namespace

CAP_PLUGIN(FirstOrder)
