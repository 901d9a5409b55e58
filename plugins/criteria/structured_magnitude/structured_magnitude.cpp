// criteria/structured_magnitude: heads and FFN neurons by the norm of the weights they own
// (L1: sum of |w|; L2: the square root of the sum of w^2), over every linear that holds them
// (cap/criterion.h). Needs no data: the importance pass only hands over the weights, so
// `[prune] importance_subset` can be small. A baseline beside first_order and movement.
#include "common/linear_units.hpp"
#include "common/structured_ranking.hpp"

namespace {

class StructuredMagnitude : public cap::criteria::StructuredRanking {
public:
    static constexpr uint16_t kRequiresHostMinor = 2;  // the groups' linears

    static cap::Metadata metadata() {
        auto options = ranking_options(/*normalize_default=*/false);
        options.push_back(
            cap::Option::String("norm", "l1", "l1: sum of |w| per unit; l2: sqrt(sum of w^2)").choices({"l1", "l2"}));
        return {"structured_magnitude", "1.0.0", "heads and FFN neurons by the L1 or L2 norm of the weights they own",
                options};
    }

    StructuredMagnitude(const cap::Host&, const cap::Options& options)
        : StructuredRanking(options), l2_(options.get_string("norm") == "l2") {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_STRUCTURED;
        i.needs = CAP_NEEDS_WEIGHTS;
        return i;
    }

    void reset() override {}
    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups) override {}

private:
    at::Tensor raw_scores(cap::Groups groups, uint32_t i) const override {
        at::Tensor sums = cap::criteria::unit_sums(groups, i, [&](const cap_unit_group& l, uint32_t) {
            at::Tensor w = cap::expect(l.weight, at::kFloat, 2, "weight");
            return l2_ ? w.pow(2) : w.abs();
        });
        return l2_ ? sums.sqrt() : sums;
    }

    bool l2_;
};

}  // namespace

CAP_PLUGIN(StructuredMagnitude)
