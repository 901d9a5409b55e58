// The contrastive loss of PrC/SnC/FiC (docs/algorithms.md §4): values worked by hand on tiny banks,
// against an independent loop-by-loop implementation, with and without the quirk options, and
// its gradient against finite differences; then the plugins through the ABI. The loss tests run on
// CAP_TEST_BACKEND's device.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "cap/plugin_torch.hpp"
#include "contrastive_loss.hpp"
#include "plugin/contrastive_plugin.hpp"
#include "plugin/registry.hpp"
#include "support/registries.hpp"
#include "support/test_device.hpp"

using namespace cap;
using cap::contrastive::build_keys;
using cap::contrastive::contrastive_loss;
using cap::contrastive::LossSettings;

namespace {

LossSettings settings(double t, double wu, double ws, bool per_anchor = false) {
    LossSettings s;
    s.temperature = t;
    s.unsupervised_weight = wu;
    s.supervised_weight = ws;
    s.per_anchor_mean = per_anchor;
    return s;
}

at::Tensor rows(std::vector<float> v, int64_t h) { return at::tensor(v).view({-1, h}); }
at::Tensor longs(std::vector<int64_t> v) { return at::tensor(v, at::kLong); }

// The reference's computation written out loop by loop, in double precision.
struct Naive {
    double unsupervised = 0, supervised = 0;
};
Naive naive_loss(const at::Tensor& anchors, const at::Tensor& idx, const at::Tensor& labels,
                 const cap::contrastive::KeySet& k, const LossSettings& s) {
    const int64_t B = anchors.size(0), K = k.keys.size(0);
    auto a = anchors.to(at::kDouble), keys = k.keys.to(at::kDouble);
    double sum_u = 0, count_u = 0, anchors_u = 0, sum_s = 0, count_s = 0, anchors_s = 0;
    for (int64_t i = 0; i < B; ++i) {
        std::vector<double> score(K);
        double mx = -1e300;
        for (int64_t j = 0; j < K; ++j) {
            score[j] = j == i ? -1e6 : (a[i] * keys[j]).sum().item<double>() / s.temperature;
            mx = std::max(mx, score[j]);
        }
        double z = 0;
        for (double v : score) z += std::exp(v - mx);
        const double lse = mx + std::log(z);
        double pu = 0, nu = 0, ps = 0, ns = 0;
        for (int64_t j = 0; j < K; ++j) {
            if (j == i) continue;
            const double lp = score[j] - lse;
            if (k.index[j].item<int64_t>() == idx[i].item<int64_t>()) pu += lp, nu += 1;
            if (labels.defined() && k.labels[j].item<int64_t>() == labels[i].item<int64_t>()) ps += lp, ns += 1;
        }
        if (nu > 0) sum_u += pu / nu, count_u += nu, anchors_u += 1;
        if (ns > 0) sum_s += ps / ns, count_s += ns, anchors_s += 1;
    }
    Naive n;
    n.unsupervised = -s.unsupervised_weight * sum_u / (s.per_anchor_mean ? anchors_u : count_u);
    if (labels.defined()) n.supervised = -s.supervised_weight * sum_s / (s.per_anchor_mean ? anchors_s : count_s);
    return n;
}

}  // namespace

TEST_CASE("contrastive: two anchors, one bank, worked by hand") {
    CAP_TEST_DEVICE(device);
    // Anchors (1,0) and (0,1); each one's bank row equals it. T = 1, no extra keys.
    at::Tensor z = rows({1, 0, 0, 1}, 2).to(device);
    at::Tensor idx = longs({0, 1}).to(device);
    at::Tensor bank = rows({1, 0, 0, 1}, 2).to(device);
    const at::Tensor no_extra = longs({}).to(device);
    const double lse = std::log(2 + std::exp(1.0));  // keys other than self score 0, 1, 0

    SUBCASE("different labels: each term is -w * (1 - log(2 + e))") {
        at::Tensor labels = longs({0, 1}).to(device);
        auto keys = build_keys(z, idx, labels, {bank}, labels, no_extra);
        auto v = contrastive_loss(z, idx, labels, keys, settings(1.0, 0.3, 3.0));
        CHECK(v.unsupervised == doctest::Approx(-0.3 * (1 - lse)).epsilon(1e-6));
        CHECK(v.supervised == doctest::Approx(-3.0 * (1 - lse)).epsilon(1e-6));
    }
    SUBCASE("one label: three positives each, divided again by the positive count (6)") {
        at::Tensor labels = longs({0, 0}).to(device);
        auto keys = build_keys(z, idx, labels, {bank}, labels, no_extra);
        auto v = contrastive_loss(z, idx, labels, keys, settings(1.0, 0.3, 3.0));
        const double mean = 1.0 / 3 - lse;  // positives score 0 (other anchor), 1 (own bank), 0
        CHECK(v.supervised == doctest::Approx(-3.0 * 2 * mean / 6).epsilon(1e-6));
        auto corrected = contrastive_loss(z, idx, labels, keys, settings(1.0, 0.3, 3.0, true));
        CHECK(corrected.supervised == doctest::Approx(-3.0 * mean).epsilon(1e-6));
    }
}

namespace {
at::Tensor unit_rows(int64_t n, int64_t h) {
    at::Tensor t = at::randn({n, h});
    return t / t.norm(2, 1, true);
}
}  // namespace

TEST_CASE("contrastive: r snapshots shrink the unsupervised term as 1/r unless undone") {
    at::manual_seed(5);
    const int64_t N = 6, H = 4;
    at::Tensor z = unit_rows(3, H);
    at::Tensor idx = longs({0, 2, 4});
    at::Tensor labels = longs({0, 1, 0});
    at::Tensor bank_labels = longs({0, 1, 1, 0, 0, 1});
    std::vector<at::Tensor> slices{unit_rows(N, H), unit_rows(N, H)};
    auto keys = build_keys(z, idx, labels, slices, bank_labels, longs({1, 3}));  // extras avoid the batch
    auto reference = contrastive_loss(z, idx, labels, keys, settings(0.1, 0.3, 0.0));
    auto undone = contrastive_loss(z, idx, labels, keys, settings(0.1, 0.3, 0.0, true));
    // Every anchor has exactly r = 2 unsupervised positives, so the reference divides by 2 more.
    CHECK(undone.unsupervised == doctest::Approx(2 * reference.unsupervised).epsilon(1e-6));
    CHECK(reference.supervised == 0.0);
}

TEST_CASE("contrastive: the vectorised loss equals a loop-by-loop computation") {
    CAP_TEST_DEVICE(device);
    at::manual_seed(11);
    const int64_t N = 9, H = 5, B = 4;
    at::Tensor bank_labels = at::randint(0, 3, {N}, at::kLong).to(device);
    std::vector<at::Tensor> slices{unit_rows(N, H).to(device), unit_rows(N, H).to(device), unit_rows(N, H).to(device)};
    at::Tensor idx = longs({0, 3, 5, 7}).to(device);
    at::Tensor labels = bank_labels.index_select(0, idx);
    at::Tensor z = unit_rows(B, H).to(device);
    // Extras include a batch example (3): the reference's quirk, its keys become positives.
    auto keys = build_keys(z, idx, labels, slices, bank_labels, longs({3, 1, 8}).to(device));
    for (bool per_anchor : {false, true}) {
        auto s = settings(0.2, 0.4, 2.5, per_anchor);
        auto v = contrastive_loss(z, idx, labels, keys, s);
        auto n = naive_loss(z, idx, labels, keys, s);
        CHECK(v.unsupervised == doctest::Approx(n.unsupervised).epsilon(1e-5));
        CHECK(v.supervised == doctest::Approx(n.supervised).epsilon(1e-5));
    }
    // Without labels (extractive QA) only the unsupervised term exists.
    auto plain = build_keys(z, idx, at::Tensor(), slices, at::Tensor(), longs({1, 8}).to(device));
    auto v = contrastive_loss(z, idx, at::Tensor(), plain, settings(0.2, 0.4, 2.5));
    CHECK(v.supervised == 0.0);
    CHECK(v.unsupervised ==
          doctest::Approx(naive_loss(z, idx, at::Tensor(), plain, settings(0.2, 0.4, 2.5)).unsupervised).epsilon(1e-5));
}

TEST_CASE("contrastive: the gradient w.r.t. the anchors matches finite differences") {
    CAP_TEST_DEVICE(device);
    at::manual_seed(17);
    const int64_t N = 7, H = 3;
    at::Tensor bank_labels = longs({0, 1, 0, 1, 1, 0, 1}).to(device);
    std::vector<at::Tensor> slices{unit_rows(N, H).to(device, at::kDouble), unit_rows(N, H).to(device, at::kDouble)};
    at::Tensor idx = longs({1, 4, 6}).to(device);
    at::Tensor labels = bank_labels.index_select(0, idx);
    at::Tensor z = unit_rows(3, H).to(device, at::kDouble);
    // keys stay fixed
    auto keys = build_keys(z, idx, labels, slices, bank_labels, longs({0, 2, 4}).to(device));
    for (bool per_anchor : {false, true}) {
        auto s = settings(0.5, 0.3, 3.0, per_anchor);
        at::Tensor grad = contrastive_loss(z, idx, labels, keys, s).grad_anchors;
        const double h = 1e-6;
        for (int64_t i = 0; i < z.numel(); ++i) {
            at::Tensor plus = z.clone(), minus = z.clone();
            plus.view(-1)[i] += h;
            minus.view(-1)[i] -= h;
            auto total = [&](const at::Tensor& a) {
                auto v = contrastive_loss(a, idx, labels, keys, s);
                return v.unsupervised + v.supervised;
            };
            const double numeric = (total(plus) - total(minus)) / (2 * h);
            CHECK(grad.view(-1)[i].item<double>() == doctest::Approx(numeric).epsilon(1e-5));
        }
    }
}

TEST_CASE("contrastive: extra negatives are distinct, cover the pool, and can skip the batch") {
    std::mt19937_64 rng(3);
    auto all = cap::contrastive::sample_extra(10, 10, {}, rng);
    CHECK(std::get<0>(at::_unique(all)).numel() == 10);
    std::unordered_set<int64_t> batch{2, 5, 9};
    for (int trial = 0; trial < 20; ++trial) {
        auto some = cap::contrastive::sample_extra(10, 5, batch, rng);
        REQUIRE(some.numel() == 5);
        CHECK(std::get<0>(at::_unique(some)).numel() == 5);
        for (int64_t i = 0; i < 5; ++i) CHECK(batch.count(some[i].item<int64_t>()) == 0);
    }
    CHECK(cap::contrastive::sample_extra(10, 50, batch, rng).numel() == 7);  // only 7 exist
}

namespace {
const cap_exec_context kCpu{sizeof(cap_exec_context), {kDLCPU, 0}, nullptr, 1};

host::ContrastivePlugin module(const char* name, const host::OptionValues& options) {
    auto library = cap::test::builtin_registry().find(CAP_KIND_CONTRASTIVE, name);
    auto values = host::defaults_of(library->options());
    for (const auto& [k, v] : options) values[k] = v;
    return host::ContrastivePlugin(std::make_unique<host::PluginInstance>(library, values));
}

void give_bank(const host::ContrastivePlugin& m, uint32_t source, const at::Tensor& reps, const at::Tensor& labels) {
    DLTensor l = cap::to_dl(labels);
    cap_bank bank{};
    bank.struct_size = sizeof(bank);
    bank.source = source;
    bank.snapshot_index = -1;
    bank.representations = at::toDLPack(reps);
    bank.labels = &l;
    m.receive_bank(kCpu, bank);
}

cap_loss_terms loss_of(const host::ContrastivePlugin& m, const at::Tensor& z, const at::Tensor& idx,
                       const at::Tensor& labels, at::Tensor& grad) {
    DLTensor a = cap::to_dl(z), i = cap::to_dl(idx), l = cap::to_dl(labels), g = cap::to_dl(grad);
    cap_progress p{};
    p.struct_size = sizeof(p);
    cap_contrastive_batch b{sizeof(b), &a, &i, &l, &p};
    return m.loss(kCpu, b, &g);
}
}  // namespace

TEST_CASE("contrastive: prc, snc and fic through the ABI") {
    at::Tensor z = rows({1, 0, 0, 1}, 2), idx = longs({0, 1}), labels = longs({0, 1});
    const double lse = std::log(2 + std::exp(1.0));
    host::OptionValues opts{{"temperature", 1.0}, {"extra_negatives", int64_t{0}}};

    auto prc = module("prc", opts);
    CHECK(prc.wants() == CAP_CAPTURE_PRETRAINED);
    CHECK(module("fic", opts).wants() == CAP_CAPTURE_FINETUNED);
    give_bank(prc, CAP_CAPTURE_PRETRAINED, rows({1, 0, 0, 1}, 2), labels);
    CHECK(prc.memory() == 4 * sizeof(float) + 2 * sizeof(int64_t));
    at::Tensor grad = at::zeros({2, 2});
    auto t = loss_of(prc, z, idx, labels, grad);
    CHECK(t.unsupervised == doctest::Approx(-0.3 * (1 - lse)).epsilon(1e-6));
    CHECK(t.supervised == doctest::Approx(-3.0 * (1 - lse)).epsilon(1e-6));
    CHECK(t.total == doctest::Approx(t.unsupervised + t.supervised));
    CHECK(grad.abs().sum().item<double>() > 0);

    // SnC keeps every snapshot; float16 storage halves the bank.
    host::OptionValues half = opts;
    half["bank_dtype"] = std::string("float16");
    auto snc = module("snc", half);
    give_bank(snc, CAP_CAPTURE_SNAPSHOT, rows({1, 0, 0, 1}, 2), labels);
    give_bank(snc, CAP_CAPTURE_SNAPSHOT, rows({1, 0, 0, 1}, 2), labels);
    CHECK(snc.memory() == 2 * 4 * 2 + 2 * sizeof(int64_t));
    auto s = loss_of(snc, z, idx, labels, grad);
    // Two identical slices: log p of each positive is 1 - log(3 + 2e), and the reference
    // normalisation divides the mean by r = 2.
    CHECK(s.unsupervised == doctest::Approx(-0.3 * (1 - std::log(3 + 2 * std::exp(1.0))) / 2).epsilon(1e-3));

    // A bank from a source the module did not ask for is refused.
    CHECK_THROWS_WITH(give_bank(prc, CAP_CAPTURE_SNAPSHOT, rows({1, 0, 0, 1}, 2), labels),
                      doctest::Contains("did not ask for"));
}
