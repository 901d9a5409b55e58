// schedules/one_shot: prune once to the target, then retrain.
#include "stage_plan.hpp"

namespace {

class OneShotSchedule : public cap::Schedule {
public:
    static cap::Metadata metadata() {
        return {"one_shot",
                "1.0.0",
                "prune heads and FFN neurons once to the target, then retrain",
                {cap::Option::Float("percent", 50, "% of heads and of FFN neurons pruned").range(0, 100),
                 cap::Option::Float("retrain_epochs", 2.0, "epochs of retraining after pruning").min(0)}};
    }

    OneShotSchedule(const cap::Host&, const cap::Options& options)
        : percent_(options.get_float("percent")), retrain_epochs_(options.get_float("retrain_epochs")) {}

    void bind(const cap_model_shape& shape, const cap_constraints& constraints) override {
        stages_ = cap::schedules::plan_stages({percent_}, retrain_epochs_, shape, constraints);
    }
    uint32_t num_stages() override { return static_cast<uint32_t>(stages_.size()); }
    cap_stage stage(uint32_t index) override {
        if (index >= stages_.size()) cap::fail("stage " + std::to_string(index) + " out of range");
        return stages_[index];
    }
    cap_schedule_point at(const cap_progress& progress) override {
        return cap::schedules::point_in_plan(stages_, progress);
    }

private:
    double percent_;
    double retrain_epochs_;
    std::vector<cap_stage> stages_;
};

}  // namespace

CAP_PLUGIN(OneShotSchedule)
