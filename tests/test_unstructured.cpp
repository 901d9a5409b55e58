// Unstructured pruning (CAP-m, CAP-soft and the magnitude baseline): the binarizers on
// constructed scores, the straight-through gradient and the soft regularizer through the host,
// the cubic schedule against its formula, and the remaining-weight accounting of docs/algorithms.md §6.
#include <doctest/doctest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "cap/plugin_torch.hpp"
#include "model/bert.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/registry.hpp"
#include "plugin/schedule_plugin.hpp"
#include "prune/remaining_weights.hpp"
#include "prune/score_masks.hpp"
#include "support/registries.hpp"
#include "support/test_device.hpp"

using namespace cap;

namespace {

const cap_exec_context kCpu{sizeof(cap_exec_context), {kDLCPU, 0}, nullptr, 1};

host::CriterionPlugin criterion(const char* name, const host::OptionValues& options = {}) {
    auto library = cap::test::builtin_registry().find(CAP_KIND_CRITERION, name);
    auto values = host::defaults_of(library->options());
    for (const auto& [k, v] : options) values[k] = v;
    return host::CriterionPlugin(std::make_unique<host::PluginInstance>(library, values));
}

host::SchedulePlugin cubic(const host::OptionValues& options) {
    auto library = cap::test::builtin_registry().find(CAP_KIND_SCHEDULE, "cubic");
    auto values = host::defaults_of(library->options());
    for (const auto& [k, v] : options) values[k] = v;
    return host::SchedulePlugin(std::make_unique<host::PluginInstance>(library, values));
}

cap_schedule_point point(double target, double final_target = 0.1) {
    cap_schedule_point p{};
    p.struct_size = sizeof(p);
    p.target_kind = CAP_TARGET_THRESHOLD;
    p.target = target;
    p.stage = -1;
    p.final_target = final_target;
    return p;
}

cap_progress progress(int64_t step = 0) {
    cap_progress p{};
    p.struct_size = sizeof(p);
    p.step = step;
    p.total_steps = 100;
    p.steps_per_epoch = 10;
    p.total_epochs = 10;
    return p;
}

// MatrixGroups over the caller's tensors: `scores` as scores, or as weights for magnitude.
struct MatrixGroups {
    std::vector<at::Tensor> masks;
    std::vector<DLTensor> views;
    std::vector<cap_unit_group> g;
    std::vector<const cap_unit_group*> list;
    explicit MatrixGroups(const std::vector<at::Tensor>& values) {
        views.reserve(values.size() * 2);
        g.resize(values.size());
        for (size_t i = 0; i < values.size(); ++i) {
            masks.push_back(at::ones_like(values[i]));
            views.push_back(cap::to_dl(masks.back()));
            g[i].struct_size = sizeof(cap_unit_group);
            g[i].name = "matrix";
            g[i].unit_kind = CAP_UNITS_WEIGHTS;
            g[i].layer = 0;
            g[i].mask = &views.back();
            views.push_back(cap::to_dl(values[i]));
            g[i].scores = &views.back();
            g[i].weight = &views.back();
            list.push_back(&g[i]);
        }
    }
};

std::vector<at::Tensor> binarize(const host::CriterionPlugin& c, const std::vector<at::Tensor>& values, double target,
                                 double final_target = 0.1) {
    MatrixGroups groups(values);
    std::vector<at::Tensor> out;
    std::vector<DLTensor> views;
    views.reserve(values.size());
    host::CriterionPlugin::Outputs pointers;
    for (const auto& v : values) out.push_back(at::full_like(v, 7.0));
    for (const auto& t : out) views.push_back(cap::to_dl(t));
    for (auto& v : views) pointers.push_back(&v);
    c.binarize(kCpu, point(target, final_target), progress(), groups.list, pointers);
    return out;
}

int64_t ones(const at::Tensor& m) { return (m == 1).sum().item<int64_t>(); }
bool binary(const at::Tensor& m) { return ((m == 0) | (m == 1)).all().item<bool>(); }

hf::BertConfig small_config() {
    hf::BertConfig c;
    c.vocab_size = 64;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 12;
    c.max_position_embeddings = 32;
    c.labels = {"a", "b"};
    return c;
}

}  // namespace

TEST_CASE("movement: keeps exactly int(threshold * numel) per matrix, ties included") {
    auto movement = criterion("movement");
    CHECK(movement.score_based());
    CHECK(movement.info().granularity == CAP_GRANULARITY_UNSTRUCTURED);
    CHECK(movement.info().needs == CAP_NEEDS_SCORES);
    CHECK(movement.info().scores_learning_rate == doctest::Approx(1e-2));

    // All scores equal (the constant initialisation): the count is still exact.
    at::Tensor tied = at::zeros({10, 10});
    for (double t : {1.0, 0.999, 0.37, 0.03, 0.0}) {
        CAPTURE(t);
        auto m = binarize(movement, {tied}, t)[0];
        CHECK(binary(m));
        CHECK(ones(m) == static_cast<int64_t>(t * 100));
    }
    // Distinct scores: the kept ones are the largest.
    at::Tensor s = at::randperm(60, at::kLong).to(at::kFloat).view({6, 10});
    auto m = binarize(movement, {s}, 0.25)[0];
    CHECK(ones(m) == 15);
    CHECK(s.masked_select(m == 1).min().item<float>() == 45.0f);
    // Half of a tied block: exactly half, none beyond it.
    at::Tensor half_tied = at::cat({at::full({50}, 2.0), at::full({50}, 1.0)}).view({10, 10});
    auto h = binarize(movement, {half_tied}, 0.3)[0];
    CHECK(ones(h) == 30);
    CHECK(half_tied.masked_select(h == 1).min().item<float>() == 2.0f);
}

TEST_CASE("movement: per-matrix top-k against global top-k") {
    at::Tensor high = at::arange(100, 200, at::kFloat).view({10, 10});
    at::Tensor low = at::arange(0, 100, at::kFloat).view({10, 10});
    auto per_matrix = binarize(criterion("movement"), {high, low}, 0.5);
    CHECK(ones(per_matrix[0]) == 50);
    CHECK(ones(per_matrix[1]) == 50);
    auto global = binarize(criterion("movement", {{"global_topk", true}}), {high, low}, 0.5);
    CHECK(ones(global[0]) == 100);  // the 100 largest of 200 all sit in `high`
    CHECK(ones(global[1]) == 0);
    auto global30 = binarize(criterion("movement", {{"global_topk", true}}), {high, low}, 0.3);
    CHECK(ones(global30[0]) + ones(global30[1]) == 60);
    CHECK(high.masked_select(global30[0] == 1).min().item<float>() == 140.0f);
}

TEST_CASE("movement: init_scores follows mask_init and mask_scale") {
    auto constant = criterion("movement", {{"mask_scale", 0.5}});
    REQUIRE(constant.has_init_scores());
    at::Tensor w = at::zeros({4, 5});
    MatrixGroups groups({w});
    at::Tensor out = at::zeros({4, 5});
    DLTensor view = cap::to_dl(out);
    constant.init_scores(kCpu, groups.list, {&view});
    CHECK(out.eq(0.5).all().item<bool>());
    auto uniform = criterion("movement", {{"mask_init", std::string("uniform")}, {"mask_scale", 0.5}});
    uniform.init_scores(kCpu, groups.list, {&view});
    CHECK(out.abs().max().item<float>() <= 0.5f);
    CHECK(out.std().item<float>() > 0.05f);
}

TEST_CASE("magnitude: keeps the largest |W| of each matrix, signs ignored") {
    auto magnitude = criterion("magnitude");
    CHECK(magnitude.info().needs == CAP_NEEDS_WEIGHTS);
    CHECK_FALSE(magnitude.has_init_scores());
    at::Tensor w = at::tensor({-9.f, 1.f, 8.f, -2.f, 0.5f, -7.f, 3.f, 0.f}).view({2, 4});
    auto m = binarize(magnitude, {w}, 0.375)[0];  // int(0.375 * 8) = 3
    CHECK(at::equal(m, at::tensor({1.f, 0.f, 1.f, 0.f, 0.f, 1.f, 0.f, 0.f}).view({2, 4})));
}

TEST_CASE("soft movement: sigmoid(S) > threshold, and the safeguard keeps int(0.005 n) + 1") {
    auto soft = criterion("soft_movement", {{"final_lambda", 10.0}});
    at::Tensor s = at::tensor({-3.f, -1.f, 0.f, 0.5f, 2.f, 4.f}).view({2, 3});
    auto m = binarize(soft, {s}, 0.5)[0];  // sigmoid > 0.5: s > 0
    CHECK(at::equal(m, at::tensor({0.f, 0.f, 0.f, 1.f, 1.f, 1.f}).view({2, 3})));
    CHECK(ones(binarize(soft, {s}, 0.0)[0]) == 6);

    // 1000 scores, all far below the threshold: int(0.005 * 1000) + 1 = 6 survive, the largest.
    at::Tensor low = -10.0 - at::randperm(1000, at::kLong).to(at::kFloat).view({20, 50});
    auto kept = binarize(soft, {low}, 0.1)[0];
    CHECK(ones(kept) == 6);
    CHECK(low.masked_select(kept == 1).min().item<float>() == -15.0f);
    // Enough survivors: no safeguard.
    at::Tensor mixed = low.clone();
    mixed.view(-1).slice(0, 0, 10).fill_(5.0);
    CHECK(ones(binarize(soft, {mixed}, 0.1)[0]) == 10);
}

TEST_CASE("soft movement: the regularizer's value and gradient against finite differences") {
    auto soft = criterion("soft_movement", {{"final_lambda", 10.0}});
    REQUIRE(soft.has_regularizer());
    at::manual_seed(5);
    std::vector<at::Tensor> scores = {at::randn({3, 4}), at::randn({5, 2})};
    auto value_and_grads = [&](const std::vector<at::Tensor>& s, double target) {
        MatrixGroups groups(s);
        std::vector<at::Tensor> grads = {at::zeros({3, 4}), at::zeros({5, 2})};
        DLTensor v[2] = {cap::to_dl(grads[0]), cap::to_dl(grads[1])};
        const double value = soft.regularizer(kCpu, point(target, 0.1), progress(), groups.list, {&v[0], &v[1]});
        return std::make_pair(value, grads);
    };
    // lambda_t = 10 * 0.05 / 0.1 = 5; R = mean over the two matrices of sum(sigmoid) / numel.
    auto [value, grads] = value_and_grads(scores, 0.05);
    const double r =
        (at::sigmoid(scores[0]).sum().item<double>() / 12 + at::sigmoid(scores[1]).sum().item<double>() / 10) / 2;
    CHECK(value == doctest::Approx(5 * r).epsilon(1e-6));
    for (int m = 0; m < 2; ++m)
        for (int64_t i = 0; i < scores[m].numel(); i += 3) {
            auto plus = scores, minus = scores;
            plus[m] = scores[m].clone();
            minus[m] = scores[m].clone();
            const float h = 1e-2f;
            plus[m].view(-1)[i] += h;
            minus[m].view(-1)[i] -= h;
            const double numeric = (value_and_grads(plus, 0.05).first - value_and_grads(minus, 0.05).first) / (2 * h);
            CAPTURE(m);
            CAPTURE(i);
            CHECK(grads[m].view(-1)[i].item<double>() == doctest::Approx(numeric).epsilon(2e-3));
        }
    // lambda ramps with the threshold: none at threshold 0.
    CHECK(value_and_grads(scores, 0.0).first == 0.0);
    // A host that leaves final_target at 0 (ABI 1.0) cannot ramp lambda: a clear error.
    MatrixGroups groups(scores);
    at::Tensor g0 = at::zeros({3, 4}), g1 = at::zeros({5, 2});
    DLTensor v[2] = {cap::to_dl(g0), cap::to_dl(g1)};
    CHECK_THROWS_WITH_AS(soft.regularizer(kCpu, point(0.05, 0.0), progress(), groups.list, {&v[0], &v[1]}),
                         doctest::Contains("final threshold is 0"), host::PluginError);
}

TEST_CASE("cubic schedule: warm-ups and the cubic in between, as schedule_threshold") {
    auto s = cubic({{"initial_threshold", 1.0},
                    {"final_threshold", 0.1},
                    {"warmup_steps", int64_t{100}},
                    {"initial_warmup", 2.0},
                    {"final_warmup", 3.0}});
    s.bind({sizeof(cap_model_shape), 12, 12, 768, 3072}, {sizeof(cap_constraints), 0});
    CHECK(s.num_stages() == 0);
    auto at = [&](int64_t step) {
        cap_progress p = progress(step);
        p.total_steps = 1000;
        return s.at(p);
    };
    CHECK(at(0).target_kind == CAP_TARGET_THRESHOLD);
    CHECK(at(0).stage == -1);
    CHECK(at(0).prune_now == 0);
    CHECK(at(0).target == 1.0);
    CHECK(at(200).target == 1.0);  // t <= t_i = 2 * 100
    // t_i < t <= T - t_f: 0.1 + 0.9 * (1 - (t - 200) / 500)^3
    CHECK(at(201).target == doctest::Approx(0.1 + 0.9 * std::pow(1 - 1.0 / 500, 3)));
    CHECK(at(450).target == doctest::Approx(0.1 + 0.9 * 0.125));  // midpoint
    CHECK(at(700).target == doctest::Approx(0.1));                // T - t_f: the cubic reaches the end
    CHECK(at(701).target == 0.1);
    CHECK(at(1000).target == 0.1);
    CHECK(at(1000).final_target == 0.1);
    // Soft movement's schedule rises from 0.
    auto rising = cubic({{"initial_threshold", 0.0}, {"final_threshold", 0.1}, {"warmup_steps", int64_t{10}}});
    cap_progress p = progress(55);  // t_i = 10, T - t_f = 80: x = 1 - 45/70
    CHECK(rising.at(p).target == doctest::Approx(0.1 - 0.1 * std::pow(1 - 45.0 / 70, 3)));
}

TEST_CASE("score masks: the scores get (dL/dW') * W straight through, plus the regularizer's gradient") {
    CAP_TEST_DEVICE(device);  // CAP_TEST_BACKEND's: the scores and masks live beside the weights
    const cap_exec_context ctx = cap::test::exec_context(device);
    for (const char* name : {"movement", "soft_movement"}) {
        CAPTURE(name);
        const bool soft = std::string(name) == "soft_movement";
        auto c = soft ? criterion(name, {{"final_lambda", 4.0}, {"mask_scale", 0.3}})
                      : criterion(name, {{"mask_scale", 0.3}});
        at::manual_seed(2);
        model::Bert bert(small_config(), model::TaskHead::kClassification);
        bert->to(device);
        prune::ScoreMasks masks(bert, c, ctx);
        REQUIRE(masks.has_scores());
        CHECK(masks.scores()[0].eq(0.3f).all().item<bool>());  // init_scores ran
        CHECK(masks.scores()[0].device() == device);
        // Kept everywhere (top-k at 1; sigmoid(0.3) > 0.2): W' = W, so dL/dS = dL/dW * W exactly.
        const double target = soft ? 0.2 : 1.0;
        const auto pt = point(target, 0.1);
        masks.binarize(pt, progress());
        CHECK(masks.masks().kept_fraction() == 1.0);
        const double penalty = masks.regularizer(pt, progress());
        model::ForwardOptions options;
        options.weights = masks.transform();
        at::Tensor ids = at::randint(5, 64, {3, 7}, at::kLong).to(device);
        bert->forward({ids, {}, {}}, options).logits.pow(2).sum().backward();
        masks.finish_gradients(pt, progress());
        for (const auto& slot : masks.masks().slots()) {
            CAPTURE(slot.name);
            at::Tensor w = bert->linear_weight(slot.layer, slot.which);
            at::Tensor expected = w.grad() * w.detach();
            if (penalty > 0) {
                at::Tensor sig = at::sigmoid(slot.scores.detach());
                expected = expected + sig * (1 - sig) * (4.0 * target / 0.1) / (double(w.numel()) * 12);
            }
            CHECK(at::allclose(slot.scores.grad(), expected, 1e-5, 1e-7));
        }
        CHECK((penalty > 0) == soft);
    }
}

TEST_CASE("remaining weights: a small model counted by hand") {
    model::Bert bert(small_config(), model::TaskHead::kClassification);
    // Per layer: Q, K, V, O are 16x16, intermediate 12x16, output 16x12.
    std::vector<int64_t> kept = {256, 0, 10, 20, 192, 1, 0, 0, 0, 0, 0, 5};
    auto c = prune::count_remaining(bert, kept);
    REQUIRE(c.matrices.size() == 12);
    CHECK(c.matrices[4].matrix == "intermediate.dense");
    CHECK(c.matrices[4].total == 192);
    CHECK(c.masked_total() == 2 * (4 * 256 + 2 * 192));
    // Biases 4 x 16 + 12 + 16 and two LayerNorms of 2 x 16, per layer.
    CHECK(c.unmasked == 2 * (4 * 16 + 12 + 16 + 2 * 2 * 16));
    CHECK(c.masked_kept() == 484);
    CHECK(c.percent() == doctest::Approx(100.0 * (484 + 2 * 156) / (2 * 1408 + 2 * 156)));
    const std::string csv = prune::remaining_weights_csv(c);
    CHECK(csv.find("0,attention.self.query,256,256,100.0000\n") != std::string::npos);
    CHECK(csv.find("1,output.dense,5,192,2.6042\n") != std::string::npos);
    CHECK(csv.find("0,all,479,1408,") != std::string::npos);
    CHECK(csv.find("all,biases_and_layernorm,312,312,100.0000\n") != std::string::npos);
    CHECK_THROWS(prune::count_remaining(bert, std::vector<int64_t>{1, 2, 3}));
}

TEST_CASE("remaining weights: BERT-base has 84,934,656 masked weights and 119,808 others, so top-k 3% reads 3.14%") {
    model::Bert bert(hf::BertConfig{}, model::TaskHead::kClassification);
    std::vector<int64_t> all, three, ten;
    for (int64_t l = 0; l < 12; ++l)
        for (int k = 0; k < model::kEncoderLinears; ++k) {
            const int64_t n = bert->linear_weight(l, static_cast<model::EncoderLinear>(k)).numel();
            all.push_back(n);
            three.push_back(static_cast<int64_t>(0.03 * double(n)));
            ten.push_back(static_cast<int64_t>(0.10 * double(n)));
        }
    auto dense = prune::count_remaining(bert, all);
    CHECK(dense.masked_total() == 84934656);
    CHECK(dense.unmasked == 119808);
    CHECK(dense.encoder_total() == 85054464);
    CHECK(dense.percent() == 100.0);
    CHECK(prune::count_remaining(bert, three).percent() == doctest::Approx(3.14).epsilon(0.002));
    CHECK(prune::count_remaining(bert, ten).percent() == doctest::Approx(10.13).epsilon(0.001));
}

TEST_CASE("movement: scores_learning_rate is literal (ABI 1.2), and the model's rate has its own spelling") {
    auto frozen = criterion("movement", {{"scores_learning_rate", 0.0}});
    CHECK(frozen.info().scores_learning_rate == 0.0);
    CHECK(frozen.info().scores_learning_rate_literal == 1);
    auto at_model_rate = criterion("soft_movement", {{"scores_at_model_rate", true}});
    CHECK(at_model_rate.info().scores_learning_rate == 0.0);
    CHECK(at_model_rate.info().scores_learning_rate_literal == 0);
}
