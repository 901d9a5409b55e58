// criteria/taylor: weight-level first-order Taylor importance, per unit. A weight w with
// gradient g changes the loss by about -w * g when removed; a head's or FFN neuron's importance
// is the sum over the importance pass's batches and over the weights it owns of |w * g|
// (Molchanov et al. 2019, summed per weight rather than per unit). first_order differentiates
// the unit's mask instead: |sum over its weights of w * g| for the output side only.
#include "common/linear_units.hpp"
#include "common/structured_ranking.hpp"

namespace {

class Taylor : public cap::criteria::StructuredRanking {
public:
    static constexpr uint16_t kRequiresHostMinor = 2;  // the groups' linears

    static cap::Metadata metadata() {
        return {"taylor", "1.0.0",
                "heads and FFN neurons by the accumulated |w * dL/dw| of the weights they own (first-order Taylor)",
                ranking_options(/*normalize_default=*/false)};
    }

    Taylor(const cap::Host&, const cap::Options& options) : StructuredRanking(options) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_STRUCTURED;
        i.needs = CAP_NEEDS_WEIGHTS | CAP_NEEDS_WEIGHT_GRADS;
        return i;
    }

    void reset() override { sums_.clear(); }

    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups groups) override {
        for (uint32_t i = 0; i < groups.size(); ++i)
            sums_.add(groups, i, cap::criteria::unit_sums(groups, i, [](const cap_unit_group& l, uint32_t) {
                          at::Tensor w = cap::expect(l.weight, at::kFloat, 2, "weight");
                          at::Tensor g = cap::expect(l.weight_grad, at::kFloat, 2, "weight_grad");
                          return (w * g).abs();
                      }));
    }

private:
    at::Tensor raw_scores(cap::Groups groups, uint32_t i) const override { return sums_.get(groups, i); }

    cap::criteria::GroupSums sums_;
};

}  // namespace

CAP_PLUGIN(Taylor)
