// criteria/wanda: activation-aware magnitude (Sun et al. 2023, "Wanda"), per unit. A weight's
// importance is |w_ij| * ||X_j||, where ||X_j|| is the L2 norm of its input feature j over every
// non-padding token of the importance pass (the calibration set); a head's or FFN neuron's is the
// sum over the weights it owns. No gradients: with a one-shot schedule it prunes without any
// retraining (configs/baselines/wanda-*.toml).
#include <vector>

#include "common/linear_units.hpp"
#include "common/structured_ranking.hpp"

namespace {

class Wanda : public cap::criteria::StructuredRanking {
public:
    static constexpr uint16_t kRequiresHostMinor = 2;  // the groups' linears and input norms

    static cap::Metadata metadata() {
        return {"wanda", "1.0.0",
                "heads and FFN neurons by the sum of |w| * ||x|| over the weights they own (Sun et al.; Wanda)",
                ranking_options(/*normalize_default=*/false)};
    }

    Wanda(const cap::Host&, const cap::Options& options) : StructuredRanking(options) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_STRUCTURED;
        i.needs = CAP_NEEDS_WEIGHTS | CAP_NEEDS_INPUT_NORMS;
        return i;
    }

    void reset() override { squares_.clear(); }

    // Sums each linear's per-feature squared input norms over the batches.
    void accumulate(const cap_exec_context&, const cap_batch_info&, cap::Groups groups) override {
        if (squares_.empty()) squares_.resize(groups.size());
        if (squares_.size() != groups.size()) cap::fail("the number of groups changed between batches");
        for (uint32_t i = 0; i < groups.size(); ++i) {
            const auto linears = groups.linears(i);
            auto& sums = squares_[i];
            if (sums.empty()) sums.resize(linears.size());
            if (sums.size() != linears.size()) cap::fail("the number of linears changed between batches");
            for (size_t k = 0; k < linears.size(); ++k) {
                at::Tensor sq = cap::expect(linears[k].input_sq_norms, at::kFloat, 1, "input_sq_norms");
                sums[k] = sums[k].defined() ? sums[k] + sq : sq.clone();
            }
        }
    }

private:
    at::Tensor raw_scores(cap::Groups groups, uint32_t i) const override {
        if (i >= squares_.size() || squares_[i].empty())
            cap::fail("wanda has seen no batch: an importance pass must run before importance()");
        const auto& sums = squares_[i];
        return cap::criteria::unit_sums(groups, i, [&](const cap_unit_group& l, uint32_t k) {
            at::Tensor w = cap::expect(l.weight, at::kFloat, 2, "weight");
            if (k >= sums.size() || sums[k].numel() != w.size(1))
                cap::fail(std::string("linear ") + l.name + ": its input norms do not fit its weight");
            return w.abs() * sums[k].sqrt().unsqueeze(0);
        });
    }

    std::vector<std::vector<at::Tensor>> squares_;  // per group, per linear: sum over tokens of x^2
};

}  // namespace

CAP_PLUGIN(Wanda)
