// schedules/iterative and schedules/one_shot against the reference's arithmetic: cumulative
// targets int(units * p / 100), per-stage differences, and the at-least-N-heads limit.
#include <doctest/doctest.h>

#include "plugin/registry.hpp"
#include "plugin/schedule_plugin.hpp"
#include "support/registries.hpp"

using namespace cap::host;

namespace {

const cap_model_shape kBase{sizeof(cap_model_shape), 12, 12, 768, 3072};

SchedulePlugin make(const char* name, OptionValues values) {
    return SchedulePlugin(std::make_unique<PluginInstance>(cap::test::builtin_registry().find(CAP_KIND_SCHEDULE, name),
                                                           std::move(values)));
}

SchedulePlugin iterative(std::vector<double> percents, double epochs = 2.0) {
    return make("iterative", {{"percents", percents}, {"retrain_epochs", epochs}});
}

cap_constraints min_heads(int n) { return {sizeof(cap_constraints), n}; }

}  // namespace

TEST_CASE("schedules: iterative 10..90% on BERT-base prunes 14/15 heads and 3686/3687 neurons a stage") {
    auto s = iterative({10, 20, 30, 40, 50, 60, 70, 80, 90});
    s.bind(kBase, min_heads(1));
    auto stages = s.stages();
    REQUIRE(stages.size() == 9);
    const int64_t heads[] = {14, 14, 15, 14, 15, 14, 14, 15, 14};
    const int64_t neurons[] = {3686, 3686, 3687, 3686, 3687, 3686, 3686, 3687, 3686};
    int64_t total_heads = 0, total_neurons = 0;
    for (int i = 0; i < 9; ++i) {
        CAPTURE(i);
        CHECK(stages[i].heads_to_prune == heads[i]);
        CHECK(stages[i].ffn_to_prune == neurons[i]);
        CHECK(stages[i].target_sparsity == doctest::Approx((i + 1) / 10.0));
        CHECK(stages[i].retrain_epochs == 2.0);
        total_heads += stages[i].heads_to_prune;
        total_neurons += stages[i].ffn_to_prune;
    }
    CHECK(total_heads == 129);      // int(144 * 0.9)
    CHECK(total_neurons == 33177);  // int(36864 * 0.9)
}

TEST_CASE("schedules: 97% needs zero protected heads, as in the reference") {
    auto s = iterative({50, 97});
    // int(144 * 0.97) = 139 > 144 - 12 = 132 heads that may go with one protected per layer.
    CHECK_THROWS_WITH_AS(
        s.bind(kBase, min_heads(1)),
        doctest::Contains("target 97% prunes 139 of 144 heads, but min_heads_per_layer = 1 protects 12"), PluginError);
    auto free = iterative({50, 97});
    free.bind(kBase, min_heads(0));
    auto stages = free.stages();
    CHECK(stages[0].heads_to_prune == 72);
    CHECK(stages[1].heads_to_prune == 139 - 72);
    CHECK(stages[0].ffn_to_prune + stages[1].ffn_to_prune == 35758);  // int(36864 * 0.97)
}

TEST_CASE("schedules: targets must be non-decreasing and retraining not negative") {
    CHECK_THROWS_WITH_AS(iterative({20, 10}).bind(kBase, min_heads(1)),
                         doctest::Contains("targets must not decrease: 10% follows 20%"), PluginError);
    CHECK_THROWS_WITH_AS(iterative({10}, -1.0).bind(kBase, min_heads(1)),
                         doctest::Contains("retrain_epochs must be 0 (no retraining) or more"), PluginError);
    // 0: prune and evaluate without retraining (a one-shot baseline such as wanda).
    auto no_retraining = iterative({10, 20}, 0.0);
    no_retraining.bind(kBase, min_heads(1));
    CHECK(no_retraining.stage(1).retrain_epochs == 0.0);
    CHECK_THROWS_WITH_AS(iterative({}).bind(kBase, min_heads(1)), doctest::Contains("percents is empty"), PluginError);
}

TEST_CASE("schedules: at() prunes on the first step of each stage") {
    auto s = iterative({10, 20, 30}, 1.5);
    s.bind(kBase, min_heads(1));
    auto at = [&](int64_t step) {
        cap_progress p{sizeof(cap_progress), step, 450, step / 100, 5, 100};
        return s.at(p);
    };
    // Stages last 150 steps each at 100 steps per epoch.
    CHECK(at(0).prune_now == 1);
    CHECK(at(0).stage == 0);
    CHECK(at(0).target == doctest::Approx(0.1));
    CHECK(at(149).prune_now == 0);
    CHECK(at(149).stage == 0);
    CHECK(at(150).prune_now == 1);
    CHECK(at(150).stage == 1);
    CHECK(at(300).stage == 2);
    CHECK(at(449).target == doctest::Approx(0.3));
    CHECK(at(10000).stage == 2);  // past the plan: the last stage
    CHECK(at(0).target_kind == CAP_TARGET_SPARSITY);
    cap_progress bad{sizeof(cap_progress), 0, 0, 0, 0, 0};
    CHECK_THROWS_WITH_AS(s.at(bad), doctest::Contains("steps_per_epoch must be positive"), PluginError);
}

TEST_CASE("schedules: one_shot is a single stage") {
    auto s = make("one_shot", {{"percent", 50.0}, {"retrain_epochs", 3.0}});
    s.bind(kBase, min_heads(1));
    REQUIRE(s.num_stages() == 1);
    CHECK(s.stage(0).heads_to_prune == 72);
    CHECK(s.stage(0).ffn_to_prune == 18432);
    CHECK(s.stage(0).retrain_epochs == 3.0);
    CHECK_THROWS_AS(s.stage(1), PluginError);
}
