// criteria/soft_movement: soft movement pruning (CAP-soft; docs/algorithms.md §3). Learnable scores
// S per encoder weight; the mask is sigmoid(S) > tau_t (the schedule's threshold) with the
// gradient passed straight through, and an L1 penalty on sigmoid(S), averaged over matrices,
// with lambda_t = final_lambda * tau_t / tau_final so it ramps up with the threshold. The
// reference's safeguard keeps at least int(0.005 * numel) + 1 weights of a matrix.
#include <cmath>

#include "common/unstructured.hpp"

namespace {

class SoftMovement : public cap::criteria::LearnedScores {
public:
    static constexpr uint16_t kRequiresHostMinor = 1;  // the point's final_target ramps lambda

    static cap::Metadata metadata() {
        auto options = LearnedScores::options();
        options.push_back(cap::Option::Float("final_lambda", 0.0,
                                             "weight of the L1 penalty on sigmoid(scores) at the final threshold "
                                             "(--final_lambda; 0: no penalty)")
                              .min(0));
        options.push_back(cap::Option::Float("min_kept_fraction", 0.005,
                                             "safeguard: a matrix keeps at least int(fraction * numel) + 1 weights")
                              .range(0, 1));
        return {"soft_movement", "1.0.0",
                "learnable scores, mask sigmoid(S) > threshold, L1 penalty on sigmoid(S) (Sanh et al.; CAP-soft)",
                options};
    }

    SoftMovement(const cap::Host& host, const cap::Options& options)
        : LearnedScores(host, options, "soft_movement/init"),
          lambda_(options.get_float("final_lambda")),
          min_fraction_(options.get_float("min_kept_fraction")) {}

    void binarize(const cap_exec_context&, const cap_schedule_point& point, const cap_progress&, cap::Groups groups,
                  cap::Outputs out) override {
        for (uint32_t i = 0; i < groups.size(); ++i) {
            at::Tensor s = cap::expect(groups[i].scores, at::kFloat, 2, "scores");
            at::Tensor mask = (at::sigmoid(s) > point.target).to(at::kFloat);
            const int64_t n = s.numel();
            const auto at_least = static_cast<int64_t>(min_fraction_ * static_cast<double>(n)) + 1;
            if (mask.sum().item<int64_t>() < at_least) {
                // As the reference: keep what lies above the k-th smallest raw score.
                const at::Tensor kth = std::get<0>(s.reshape(-1).kthvalue(std::max<int64_t>(n - at_least, 1)));
                mask = (s > kth).to(at::kFloat);
            }
            cap::write(out[i], mask);
        }
    }

    double regularizer(const cap_exec_context&, const cap_schedule_point& point, const cap_progress&,
                       cap::Groups groups, cap::Outputs grads) override {
        const double weight = lambda_t(point);
        const auto count = static_cast<double>(groups.size());
        double penalty = 0;
        for (uint32_t i = 0; i < groups.size(); ++i) {
            at::Tensor s = cap::expect(groups[i].scores, at::kFloat, 2, "scores");
            at::Tensor sig = at::sigmoid(s);
            const auto n = static_cast<double>(s.numel());
            penalty += sig.sum().item<double>() / n;
            cap::write(grads[i], sig * (1 - sig) * (weight / (n * count)));
        }
        return weight * penalty / count;
    }

private:
    double lambda_t(const cap_schedule_point& point) const {
        if (lambda_ == 0) return 0;
        if (!(point.final_target > 0))
            cap::fail("soft_movement ramps lambda by threshold / final threshold, but the final threshold is " +
                      std::to_string(point.final_target) + " (the schedule must end above 0)");
        return lambda_ * point.target / point.final_target;
    }

    double lambda_, min_fraction_;
};

}  // namespace

CAP_PLUGIN(SoftMovement)
