// criteria/magnitude: the zeroth-order baseline of the movement-pruning papers. Every forward
// pass keeps the int(threshold * numel) largest |W| of each matrix (the schedule's threshold is
// the kept fraction). Nothing is learned: the masks follow the weights as they train.
#include "common/unstructured.hpp"

namespace {

class Magnitude : public cap::Criterion {
public:
    static cap::Metadata metadata() {
        return {"magnitude",
                "1.0.0",
                "largest |weight| per encoder matrix (the magnitude baseline)",
                {cap::Option::Bool("global_topk", false,
                                   "keep the top fraction over all matrices at once instead of per matrix")}};
    }

    Magnitude(const cap::Host&, const cap::Options& options) : global_(options.get_bool("global_topk")) {}

    cap_criterion_info info() override {
        cap_criterion_info i{};
        i.struct_size = sizeof(i);
        i.granularity = CAP_GRANULARITY_UNSTRUCTURED;
        i.needs = CAP_NEEDS_WEIGHTS;
        i.score_based = 1;  // a mask every step, from the weights rather than from learned scores
        return i;
    }

    void binarize(const cap_exec_context&, const cap_schedule_point& point, const cap_progress&, cap::Groups groups,
                  cap::Outputs out) override {
        std::vector<at::Tensor> magnitudes;
        for (uint32_t i = 0; i < groups.size(); ++i) {
            if (!groups[i].weight) cap::fail(std::string("group ") + groups[i].name + " came without its weight");
            magnitudes.push_back(cap::expect(groups[i].weight, at::kFloat, 2, "weight").abs());
        }
        auto masks = cap::criteria::top_k_masks(magnitudes, cap::criteria::keep_fraction_of(point), global_);
        for (uint32_t i = 0; i < groups.size(); ++i) cap::write(out[i], masks[i]);
    }

private:
    bool global_;
};

}  // namespace

CAP_PLUGIN(Magnitude)
