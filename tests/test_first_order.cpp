// criteria/first_order: importance as accumulated |d loss / d mask| (checked against autograd on
// a tiny model through the host's importance pass), layer-wise normalisation, and selection
// with the at-least-N-heads rule, the reference's quirk included.
#include <doctest/doctest.h>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <numeric>

#include "cap/plugin_torch.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/registry.hpp"
#include "prune/structured_selection.hpp"
#include "support/registries.hpp"

using namespace cap;

namespace {

const cap_exec_context kCpu{sizeof(cap_exec_context), {kDLCPU, 0}, nullptr, 1};

host::CriterionPlugin first_order(const host::OptionValues& options = {}) {
    auto library = cap::test::builtin_registry().find(CAP_KIND_CRITERION, "first_order");
    auto values = host::defaults_of(library->options());
    for (const auto& [k, v] : options) values[k] = v;
    return host::CriterionPlugin(std::make_unique<host::PluginInstance>(library, values));
}

// Heads and FFN groups over tensors the caller keeps alive.
struct Groups {
    DLTensor views[4]{};
    cap_unit_group g[2]{};
    std::vector<const cap_unit_group*> list;
    Groups(const at::Tensor& heads, const at::Tensor& ffn, const at::Tensor& hg = {}, const at::Tensor& fg = {}) {
        views[0] = cap::to_dl(heads);
        views[1] = cap::to_dl(ffn);
        if (hg.defined()) views[2] = cap::to_dl(hg);
        if (fg.defined()) views[3] = cap::to_dl(fg);
        const char* names[2] = {"heads", "ffn"};
        for (int i = 0; i < 2; ++i) {
            g[i].struct_size = sizeof(cap_unit_group);
            g[i].name = names[i];
            g[i].unit_kind = i == 0 ? CAP_UNITS_HEADS : CAP_UNITS_FFN_NEURONS;
            g[i].layer = -1;
            g[i].mask = &views[i];
            g[i].mask_grad = (i == 0 ? hg : fg).defined() ? &views[2 + i] : nullptr;
            list.push_back(&g[i]);
        }
    }
};

cap_constraints constraints(int heads) { return {sizeof(cap_constraints), heads}; }

cap_selection selection(int64_t heads, int64_t ffn, const cap_constraints* c) {
    cap_selection s{};
    s.struct_size = sizeof(s);
    s.heads_to_prune = heads;
    s.ffn_to_prune = ffn;
    s.constraints = c;
    return s;
}

void accumulate(const host::CriterionPlugin& c, const at::Tensor& heads, const at::Tensor& ffn, const at::Tensor& hg,
                const at::Tensor& fg) {
    Groups g(heads, ffn, hg, fg);
    cap_batch_info b{sizeof(cap_batch_info), 1, 1};
    c.accumulate(kCpu, b, g.list);
}

std::pair<at::Tensor, at::Tensor> importance(const host::CriterionPlugin& c, const at::Tensor& heads,
                                             const at::Tensor& ffn) {
    at::Tensor hi = at::empty_like(heads), fi = at::empty_like(ffn);
    DLTensor out[2] = {cap::to_dl(hi), cap::to_dl(fi)};
    Groups g(heads, ffn);
    c.importance(kCpu, g.list, {&out[0], &out[1]});
    return {hi, fi};
}

std::pair<at::Tensor, at::Tensor> select(const host::CriterionPlugin& c, const at::Tensor& heads, const at::Tensor& ffn,
                                         const cap_selection& s) {
    at::Tensor hm = at::empty_like(heads), fm = at::empty_like(ffn);
    DLTensor out[2] = {cap::to_dl(hm), cap::to_dl(fm)};
    Groups g(heads, ffn);
    c.select(kCpu, s, g.list, {&out[0], &out[1]});
    return {hm, fm};
}

}  // namespace

TEST_CASE("first_order: importance sums |gradient| over batches and normalises each layer by its L2 norm") {
    at::Tensor heads = at::ones({2, 2}), ffn = at::ones({2, 3});
    auto c = first_order();
    c.reset();
    accumulate(c, heads, ffn, at::tensor({1.f, -2.f, 0.f, 3.f}).view({2, 2}),
               at::tensor({1.f, 0.f, 0.f, 0.f, 2.f, 0.f}).view({2, 3}));
    accumulate(c, heads, ffn, at::tensor({2.f, 2.f, 0.f, -1.f}).view({2, 2}),
               at::tensor({-1.f, 0.f, 0.f, 0.f, 0.f, 0.f}).view({2, 3}));
    auto [hi, fi] = importance(c, heads, ffn);
    // Sums: heads [[3, 4], [0, 4]], FFN [[2, 0, 0], [0, 2, 0]]; rows divided by their L2 norms.
    CHECK(at::allclose(hi, at::tensor({0.6f, 0.8f, 0.f, 1.f}).view({2, 2})));
    CHECK(at::allclose(fi, at::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 0.f}).view({2, 3})));

    auto raw = first_order({{"normalize_by_layer", false}});
    raw.reset();
    accumulate(raw, heads, ffn, at::tensor({1.f, -2.f, 0.f, 3.f}).view({2, 2}), at::zeros({2, 3}));
    CHECK(at::equal(importance(raw, heads, ffn).first, at::tensor({1.f, 2.f, 0.f, 3.f}).view({2, 2})));
    c.reset();  // forgets
    CHECK(importance(c, heads, ffn).first.abs().sum().item<float>() == 0);
}

TEST_CASE("first_order: selection prunes the lowest globally, keeps the best head of each layer, never revives") {
    auto c = first_order({{"normalize_by_layer", false}});
    c.reset();
    at::Tensor heads = at::ones({2, 3}), ffn = at::ones({2, 2});
    accumulate(c, heads, ffn, at::tensor({0.1f, 0.2f, 0.3f, 0.05f, 0.9f, 0.8f}).view({2, 3}),
               at::tensor({0.4f, 0.1f, 0.3f, 0.2f}).view({2, 2}));
    auto one = constraints(1);
    auto [hm, fm] = select(c, heads, ffn, selection(2, 3, &one));
    CHECK(at::equal(hm, at::tensor({0.f, 1.f, 1.f, 0.f, 1.f, 1.f}).view({2, 3})));
    CHECK(at::equal(fm, at::tensor({1.f, 0.f, 0.f, 0.f}).view({2, 2})));  // FFN may empty a layer

    // Four more heads with one protected per layer: only 4 - ... candidates remain -> refused.
    CHECK_THROWS_WITH(select(c, hm, fm, selection(3, 0, &one)), doctest::Contains("only 2 can go"));
    // Already-pruned units stay pruned and are not counted again.
    auto [hm2, fm2] = select(c, hm, fm, selection(1, 1, &one));
    CHECK(at::equal(hm2, at::tensor({0.f, 0.f, 1.f, 0.f, 1.f, 1.f}).view({2, 3})));
    CHECK(at::equal(fm2, at::zeros({2, 2})));
}

TEST_CASE("first_order: the reference protects a layer's best head even when it is pruned already") {
    at::Tensor heads = at::tensor({0.f, 1.f, 1.f, 1.f, 1.f, 1.f}).view({2, 3}), ffn = at::ones({1, 1});
    at::Tensor scores = at::tensor({0.9f, 0.2f, 0.3f, 0.5f, 0.6f, 0.7f}).view({2, 3});
    auto one = constraints(1);
    auto quirk = first_order({{"normalize_by_layer", false}});
    quirk.reset();
    accumulate(quirk, heads, ffn, scores, at::zeros({1, 1}));
    // Head 0 of layer 0 is protected though pruned, so layer 0 can lose every head.
    CHECK(at::equal(select(quirk, heads, ffn, selection(2, 0, &one)).first,
                    at::tensor({0.f, 0.f, 0.f, 1.f, 1.f, 1.f}).view({2, 3})));
    auto strict = first_order({{"normalize_by_layer", false}, {"protect_kept_heads_only", true}});
    strict.reset();
    accumulate(strict, heads, ffn, scores, at::zeros({1, 1}));
    CHECK(at::equal(select(strict, heads, ffn, selection(2, 0, &one)).first,
                    at::tensor({0.f, 0.f, 1.f, 0.f, 1.f, 1.f}).view({2, 3})));
}

TEST_CASE("first_order: the host's importance pass gives the accumulated |d CE / d mask| of a tiny BERT") {
    hf::BertConfig cfg;
    cfg.vocab_size = 2048;  // the synthetic task uses ids [1000, 2000)
    cfg.hidden_size = 16;
    cfg.num_hidden_layers = 2;
    cfg.num_attention_heads = 2;
    cfg.intermediate_size = 8;
    cfg.max_position_embeddings = 64;
    cfg.labels = {"negative", "positive"};
    at::manual_seed(7);
    model::Bert bert(cfg, model::TaskHead::kClassification);
    bert->init_weights();
    settings::TaskConfig tc;
    tc.name = "synthetic";
    tc.max_train_examples = 40;
    tc.max_eval_examples = 8;
    auto task = data::make_task(tc, nullptr);
    std::vector<prune::ContrastiveModule> none;
    prune::Objective ce(*task, 1.0, model::Pooling::kCls, nullptr, none, nullptr, kCpu);
    prune::StructuredMasks masks{at::ones({2, 2}), at::ones({2, 8})};
    masks.heads[1][0] = 0;  // a pruned head still gets a gradient (its mask is a factor)

    // Independently: batches of 16 in order, eval mode, autograd on fresh leaf masks.
    bert->eval();
    at::Tensor want_h = at::zeros({2, 2}), want_f = at::zeros({2, 8});
    for (int64_t begin = 0; begin < 40; begin += 16) {
        std::vector<int64_t> idx(static_cast<size_t>(std::min<int64_t>(16, 40 - begin)));
        std::iota(idx.begin(), idx.end(), begin);
        auto batch = task->train_batch(idx);
        at::Tensor h = masks.heads.clone().requires_grad_(true), f = masks.ffn.clone().requires_grad_(true);
        model::ForwardOptions fo;
        fo.head_mask = h;
        fo.ffn_mask = f;
        at::Tensor loss = at::cross_entropy_loss(bert->forward(batch.inputs, fo).logits, batch.labels);
        auto g = torch::autograd::grad({loss}, {h, f});
        want_h += g[0].abs();
        want_f += g[1].abs();
    }
    auto c = first_order({{"normalize_by_layer", false}});
    auto one = constraints(0);
    prune::ImportancePass pass{1.0, 16, at::kCPU};
    cap_progress p{};
    p.struct_size = sizeof(p);
    auto got = prune::select_structured(bert, *task, c, ce, masks, selection(1, 3, &one), pass, kCpu, p, true);
    CHECK(at::allclose(got.importance.heads, want_h, 1e-5, 1e-7));
    CHECK(at::allclose(got.importance.ffn, want_f, 1e-5, 1e-7));
    CHECK(want_h[1][0].item<float>() > 0);
    CHECK(got.masks.pruned_heads() == 2);  // the one before and one more
    CHECK(got.masks.pruned_neurons() == 3);
    // Half the subset reads only the first 20 examples: smaller sums.
    prune::ImportancePass half{0.5, 16, at::kCPU};
    auto partial = prune::select_structured(bert, *task, c, ce, masks, selection(0, 0, &one), half, kCpu, p, true);
    CHECK(partial.importance.ffn.sum().item<float>() < got.importance.ffn.sum().item<float>());
    // Parameters keep requiring gradients after the pass.
    for (const auto& param : bert->parameters()) CHECK(param.requires_grad());
}
