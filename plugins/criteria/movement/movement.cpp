// criteria/movement: movement pruning with top-k (CAP-m; docs/algorithms.md §3). One learnable score
// per encoder weight, trained in its own optimizer group; every forward pass keeps the
// int(threshold * numel) highest scores of each matrix (the schedule's threshold is the kept
// fraction), and the host passes the gradient straight through, so dL/dS = (dL/dW') * W.
#include "common/unstructured.hpp"

namespace {

class Movement : public cap::criteria::LearnedScores {
public:
    static cap::Metadata metadata() {
        auto options = LearnedScores::options();
        options.push_back(cap::Option::Bool("global_topk", false,
                                            "keep the top fraction over all matrices at once instead of per matrix"));
        return {"movement", "1.0.0", "learnable scores per encoder weight, top-k per matrix (Sanh et al.; CAP-m)",
                options};
    }

    Movement(const cap::Host& host, const cap::Options& options)
        : LearnedScores(host, options, "movement/init"), global_(options.get_bool("global_topk")) {}

    void binarize(const cap_exec_context&, const cap_schedule_point& point, const cap_progress&, cap::Groups groups,
                  cap::Outputs out) override {
        std::vector<at::Tensor> scores;
        for (uint32_t i = 0; i < groups.size(); ++i)
            scores.push_back(cap::expect(groups[i].scores, at::kFloat, 2, "scores"));
        auto masks = cap::criteria::top_k_masks(scores, cap::criteria::keep_fraction_of(point), global_);
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(out[i], masks[i]);
    }

private:
    bool global_;
};

}  // namespace

CAP_PLUGIN(Movement)
