// distill/kd: the value against a hand computation, the gradient against finite differences.
#include <doctest/doctest.h>

#include <cmath>

#include "cap/plugin_torch.hpp"
#include "plugin/distill_plugin.hpp"
#include "plugin/registry.hpp"
#include "support/registries.hpp"

using namespace cap::host;

namespace {
DistillPlugin kd(double weight, double temperature) {
    return DistillPlugin(
        std::make_unique<PluginInstance>(cap::test::builtin_registry().find(CAP_KIND_DISTILL, "kd"),
                                         OptionValues{{"weight", weight}, {"temperature", temperature}}));
}
const cap_exec_context kCpu{sizeof(cap_exec_context), {kDLCPU, 0}, nullptr, 1};

double value_of(const DistillPlugin& d, const at::Tensor& s, const at::Tensor& t, at::Tensor* grad = nullptr,
                const at::Tensor* valid = nullptr) {
    DLTensor ds = cap::to_dl(s), dt = cap::to_dl(t);
    cap_distill_batch batch{sizeof(cap_distill_batch), &ds, &dt, nullptr, nullptr, nullptr};
    DLTensor dv;
    if (valid) {
        dv = cap::to_dl(*valid);
        batch.valid = &dv;
    }
    if (!grad) return d.loss(kCpu, batch, nullptr);
    DLTensor dg = cap::to_dl(*grad);
    return d.loss(kCpu, batch, &dg);
}
}  // namespace

TEST_CASE("distill/kd: value is weight * T^2 * batch-mean KL(teacher || student)") {
    // Two examples, two classes, worked by hand.
    at::Tensor s = at::tensor({1.0f, 0.0f, 0.0f, 0.0f}).view({2, 2});
    at::Tensor t = at::tensor({0.0f, 0.0f, 2.0f, 0.0f}).view({2, 2});
    const double T = 2.0, w = 0.9;
    auto kl = [](double p0, double q0) { return p0 * std::log(p0 / q0) + (1 - p0) * std::log((1 - p0) / (1 - q0)); };
    auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
    // Row 0: teacher (0.5, 0.5), student softmax(0.5, 0) ; row 1: teacher softmax(1, 0), student (0.5, 0.5).
    double expected = w * T * T * (kl(0.5, sig(0.5)) + kl(sig(1.0), 0.5)) / 2;
    CHECK(value_of(kd(w, T), s, t) == doctest::Approx(expected).epsilon(1e-6));
    CHECK(value_of(kd(w, T), t, t) == doctest::Approx(0.0).epsilon(1e-7));
}

TEST_CASE("distill/kd: gradient matches finite differences") {
    at::manual_seed(3);
    at::Tensor s = at::randn({3, 4}, at::kDouble).to(at::kFloat);
    at::Tensor t = at::randn({3, 4}).mul(2);
    auto d = kd(0.7, 1.5);
    at::Tensor grad = at::zeros({3, 4});
    value_of(d, s, t, &grad);
    const double h = 1e-2;
    for (int64_t i = 0; i < s.numel(); ++i) {
        at::Tensor plus = s.clone(), minus = s.clone();
        plus.view(-1)[i] += h;
        minus.view(-1)[i] -= h;
        double numeric = (value_of(d, plus, t) - value_of(d, minus, t)) / (2 * h);
        CAPTURE(i);
        CHECK(grad.view(-1)[i].item<double>() == doctest::Approx(numeric).epsilon(2e-3));
    }
}

TEST_CASE("distill/kd: positions outside the valid mask do not count") {
    at::Tensor s = at::tensor({1.0f, 0.0f, 5.0f}).view({1, 3});
    at::Tensor t = at::tensor({0.0f, 0.0f, -5.0f}).view({1, 3});
    at::Tensor valid = at::tensor({1.0f, 1.0f, 0.0f}).view({1, 3});
    at::Tensor grad = at::zeros({1, 3});
    auto d = kd(1.0, 1.0);
    const double masked = value_of(d, s, t, &grad, &valid);
    // Only the first two logits remain: KL((.5, .5) || softmax(1, 0)).
    const double q0 = 1 / (1 + std::exp(-1.0));
    CHECK(masked == doctest::Approx(0.5 * std::log(0.5 / q0) + 0.5 * std::log(0.5 / (1 - q0))).epsilon(1e-6));
    CHECK(grad[0][2].item<float>() == 0.0f);
    CHECK(value_of(d, s, t) > masked);  // unmasked, the third logit disagrees strongly
}

TEST_CASE("distill/kd: mismatched or mistyped logits are errors, not crashes") {
    auto d = kd(1.0, 1.0);
    at::Tensor s = at::zeros({2, 3});
    CHECK_THROWS_WITH_AS(value_of(d, s, at::zeros({2, 4})), doctest::Contains("differ in shape"), PluginError);
    CHECK_THROWS_WITH_AS(value_of(d, s, at::zeros({2, 3}, at::kDouble)), doctest::Contains("expected Float"),
                         PluginError);
    at::Tensor wrong = at::zeros({3, 3});
    CHECK_THROWS_WITH_AS(value_of(d, s, s, &wrong), doctest::Contains("output shape"), PluginError);
}
