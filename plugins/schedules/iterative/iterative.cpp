// schedules/iterative: CAP-f's plan. Prune to 10%, retrain, prune to 20%, retrain, ... with a
// fresh optimizer and learning-rate schedule per stage (the host resets them at each stage).
#include "stage_plan.hpp"

namespace {

class IterativeSchedule : public cap::Schedule {
public:
    static cap::Metadata metadata() {
        return {"iterative",
                "1.0.0",
                "prune heads and FFN neurons in stages to cumulative targets, retraining after each",
                {cap::Option::FloatList("percents", {10, 20, 30, 40, 50, 60, 70, 80, 90},
                                        "cumulative % of heads and of FFN neurons pruned after each stage")
                     .range(0, 100),
                 cap::Option::Float("retrain_epochs", 2.0, "epochs of retraining after each stage").min(0)}};
    }

    IterativeSchedule(const cap::Host&, const cap::Options& options)
        : percents_(options.get_float_list("percents")), retrain_epochs_(options.get_float("retrain_epochs")) {}

    void bind(const cap_model_shape& shape, const cap_constraints& constraints) override {
        stages_ = cap::schedules::plan_stages(percents_, retrain_epochs_, shape, constraints);
    }
    uint32_t num_stages() override { return static_cast<uint32_t>(stages_.size()); }
    cap_stage stage(uint32_t index) override {
        if (index >= stages_.size())
            cap::fail("stage " + std::to_string(index) + " out of " + std::to_string(stages_.size()));
        return stages_[index];
    }
    cap_schedule_point at(const cap_progress& progress) override {
        return cap::schedules::point_in_plan(stages_, progress);
    }

private:
    std::vector<double> percents_;
    double retrain_epochs_;
    std::vector<cap_stage> stages_;
};

}  // namespace

CAP_PLUGIN(IterativeSchedule)
