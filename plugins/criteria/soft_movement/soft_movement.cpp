// criteria/soft_movement: soft movement pruning (CAP-soft; docs/algorithms.md §3). Learnable scores
// S per encoder weight; the mask is sigmoid(S) > tau_t (the schedule's threshold) with the
// gradient passed straight through, and an L1 penalty on sigmoid(S), averaged over matrices,
// with lambda_t = final_lambda * tau_t / tau_final so it ramps up with the threshold. The
// reference's safeguard keeps at least int(0.005 * numel) + 1 weights of a matrix.
#include <cmath>
#include <vector>

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
        // Every matrix's kept count comes back in one read, not one per matrix: on a GPU each read
        // waits for the queued kernels.
        std::vector<at::Tensor> scores, masks, kept;
        for (uint32_t i = 0; i < groups.size(); ++i) {
            scores.push_back(cap::expect(groups[i].scores, at::kFloat, 2, "scores"));
            masks.push_back((at::sigmoid(scores.back()) > point.target).to(at::kFloat));
            kept.push_back(masks.back().sum());
        }
        const at::Tensor counts = kept.empty() ? at::Tensor() : at::stack(kept).to(at::kCPU, at::kLong).contiguous();
        for (uint32_t i = 0; i < groups.size(); ++i) {
            const at::Tensor& s = scores[i];
            at::Tensor mask = masks[i];
            const int64_t n = s.numel();
            const auto at_least = static_cast<int64_t>(min_fraction_ * static_cast<double>(n)) + 1;
            if (counts.data_ptr<int64_t>()[i] < at_least) {
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
        at::Tensor penalty;  // summed on the scores' device, read back once
        for (uint32_t i = 0; i < groups.size(); ++i) {
            at::Tensor s = cap::expect(groups[i].scores, at::kFloat, 2, "scores");
            at::Tensor sig = at::sigmoid(s);
            const auto n = static_cast<double>(s.numel());
            at::Tensor mean = sig.sum().to(at::kDouble) / n;
            penalty = penalty.defined() ? penalty + mean : mean;
            cap::write(grads[i], sig * (1 - sig) * (weight / (n * count)));
        }
        return penalty.defined() ? weight * penalty.item<double>() / count : 0.0;
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
