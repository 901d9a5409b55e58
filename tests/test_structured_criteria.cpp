// The criteria that look at the encoder's linears (ABI 1.2): structured_magnitude, taylor and
// wanda, per unit and (taylor, wanda) per weight, through the host's importance pass on a tiny
// BERT, each against the same quantity computed here by hand or by autograd; what the host hands
// them (weight gradients, input norms without padding, Gram matrices) is checked on the way.
#include <doctest/doctest.h>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <map>
#include <numeric>

#include "cap/plugin_torch.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/registry.hpp"
#include "prune/linear_evidence.hpp"
#include "prune/structured_selection.hpp"
#include "prune/weight_selection.hpp"
#include "support/registries.hpp"

using namespace cap;
using model::EncoderLinear;

namespace {

const cap_exec_context kCpu{sizeof(cap_exec_context), {kDLCPU, 0}, nullptr, 1};
constexpr int64_t kLayers = 2, kHeads = 2, kHeadSize = 8, kNeurons = 8, kExamples = 40, kBatch = 16;

host::CriterionPlugin criterion(const char* name, const host::OptionValues& options = {}) {
    auto library = cap::test::fixture_registry().find(CAP_KIND_CRITERION, name);
    REQUIRE(library);
    auto values = host::defaults_of(library->options());
    for (const auto& [k, v] : options) values[k] = v;
    return host::CriterionPlugin(std::make_unique<host::PluginInstance>(library, values));
}

// A tiny BERT on the synthetic task: 2 layers of 2 heads of size 8, 8 FFN neurons.
struct Tiny {
    model::Bert bert{nullptr};
    std::unique_ptr<data::Task> task;
    std::vector<prune::ContrastiveModule> none;
    std::unique_ptr<prune::Objective> ce;
    Tiny() {
        hf::BertConfig cfg;
        cfg.vocab_size = 2048;  // the synthetic task uses ids [1000, 2000)
        cfg.hidden_size = kHeads * kHeadSize;
        cfg.num_hidden_layers = kLayers;
        cfg.num_attention_heads = kHeads;
        cfg.intermediate_size = kNeurons;
        cfg.max_position_embeddings = 64;
        cfg.labels = {"negative", "positive"};
        at::manual_seed(11);
        bert = model::Bert(cfg, model::TaskHead::kClassification);
        bert->init_weights();
        settings::TaskConfig tc;
        tc.name = "synthetic";
        tc.max_train_examples = kExamples;
        tc.max_eval_examples = 8;
        task = data::make_task(tc, nullptr);
        ce = std::make_unique<prune::Objective>(*task, 1.0, model::Pooling::kCls, nullptr, none, nullptr, kCpu);
    }

    data::Batch batch(int64_t begin) const {
        std::vector<int64_t> idx(static_cast<size_t>(std::min(kBatch, kExamples - begin)));
        std::iota(idx.begin(), idx.end(), begin);
        return task->train_batch(idx);
    }

    at::Tensor weight(int64_t layer, EncoderLinear which) { return bert->linear_weight(layer, which).detach(); }

    // Runs the host's importance pass and selection with `c`.
    prune::SelectionResult select(const host::CriterionPlugin& c, int64_t heads, int64_t neurons) {
        static cap_constraints none{sizeof(cap_constraints), 0};
        cap_selection s{};
        s.struct_size = sizeof(s);
        s.heads_to_prune = heads;
        s.ffn_to_prune = neurons;
        s.constraints = &none;
        cap_progress p{};
        p.struct_size = sizeof(p);
        prune::StructuredMasks masks{at::ones({kLayers, kHeads}), at::ones({kLayers, kNeurons})};
        return prune::select_structured(bert, *task, c, *ce, masks, s, prune::ImportancePass{1.0, kBatch, at::kCPU},
                                        kCpu, p, true);
    }

    // Runs the host's importance pass and weight selection with `c`, from `masks`.
    prune::WeightSelection select_weights(const host::CriterionPlugin& c, const model::WeightMasks& masks,
                                          double keep) {
        static cap_constraints none{sizeof(cap_constraints), 0};
        cap_selection s{};
        s.struct_size = sizeof(s);
        s.keep_fraction = keep;
        s.constraints = &none;
        cap_progress p{};
        p.struct_size = sizeof(p);
        return prune::select_weights(bert, *task, c, *ce, masks, s, prune::ImportancePass{1.0, kBatch, at::kCPU}, kCpu,
                                     p);
    }

    // Per linear (layer-major), the sum over the pass's non-padding tokens of each input feature's
    // square, captured in an eval-mode forward with the padding rows dropped.
    std::map<std::pair<int64_t, int>, at::Tensor> input_squares() {
        bert->eval();
        std::map<std::pair<int64_t, int>, at::Tensor> squares;
        for (int64_t begin = 0; begin < kExamples; begin += kBatch) {
            auto b = batch(begin);
            at::Tensor real = b.inputs.attention_mask.reshape(-1) != 0;
            REQUIRE(real.logical_not().any().item<bool>());  // the batch has padding to leave out
            model::InputObserver capture = [&](int64_t l, EncoderLinear w, const at::Tensor& x) {
                at::Tensor rows = x.detach().reshape({-1, x.size(-1)}).index({real});
                at::Tensor sq = rows.pow(2).sum(0);
                auto key = std::make_pair(l, static_cast<int>(w));
                squares[key] = squares.count(key) ? squares[key] + sq : sq;
            };
            model::ForwardOptions fo;
            fo.inputs = &capture;
            at::NoGradGuard no_grad;
            bert->forward(b.inputs, fo);
        }
        return squares;
    }
};

// Per-weight values of the 6 linears of each layer, summed into heads and neurons by the rule of
// cap/criterion.h, written out here without the plugins' helper.
std::pair<at::Tensor, at::Tensor> per_unit(const std::map<std::pair<int64_t, int>, at::Tensor>& per_weight) {
    at::Tensor heads = at::zeros({kLayers, kHeads}), ffn = at::zeros({kLayers, kNeurons});
    for (int64_t l = 0; l < kLayers; ++l) {
        for (int64_t h = 0; h < kHeads; ++h) {
            const int64_t a = h * kHeadSize, b = (h + 1) * kHeadSize;
            double sum = 0;
            for (int w : {0, 1, 2}) sum += per_weight.at({l, w}).slice(0, a, b).sum().item<double>();
            sum += per_weight.at({l, 3}).slice(1, a, b).sum().item<double>();
            heads[l][h] = sum;
        }
        for (int64_t j = 0; j < kNeurons; ++j)
            ffn[l][j] =
                per_weight.at({l, 4})[j].sum().item<double>() + per_weight.at({l, 5}).select(1, j).sum().item<double>();
    }
    return {heads, ffn};
}

}  // namespace

TEST_CASE("structured_magnitude: each head and neuron scores the L1 or L2 norm of the weights it owns") {
    Tiny t;
    for (const char* norm : {"l1", "l2"}) {
        CAPTURE(norm);
        const bool l2 = std::string(norm) == "l2";
        std::map<std::pair<int64_t, int>, at::Tensor> values;
        for (int64_t l = 0; l < kLayers; ++l)
            for (int w = 0; w < model::kEncoderLinears; ++w) {
                at::Tensor W = t.weight(l, static_cast<EncoderLinear>(w));
                values[{l, w}] = l2 ? W.pow(2) : W.abs();
            }
        auto [heads, ffn] = per_unit(values);
        if (l2) heads = heads.sqrt(), ffn = ffn.sqrt();
        auto got = t.select(criterion("structured_magnitude", {{"norm", std::string(norm)}}), 1, 4);
        CHECK(at::allclose(got.importance.heads, heads, 1e-5, 1e-6));
        CHECK(at::allclose(got.importance.ffn, ffn, 1e-5, 1e-6));
        // The lowest-norm head and the 4 lowest-norm neurons go (no per-layer normalisation).
        const int64_t weakest = heads.flatten().argmin().item<int64_t>();
        CHECK(got.masks.heads.flatten()[weakest].item<float>() == 0.0f);
        CHECK(got.masks.pruned_heads() == 1);
        at::Tensor order = std::get<1>(ffn.flatten().sort());
        for (int64_t k = 0; k < 4; ++k) CHECK(got.masks.ffn.flatten()[order[k]].item<float>() == 0.0f);
        CHECK(got.masks.pruned_neurons() == 4);
    }
}

TEST_CASE("taylor: per unit, the accumulated |w * dL/dw| over the batches and the weights it owns") {
    Tiny t;
    // Independently: eval mode, batches of 16 in order, autograd w.r.t. the 12 weights.
    t.bert->eval();
    std::vector<at::Tensor> weights;
    for (int64_t l = 0; l < kLayers; ++l)
        for (int w = 0; w < model::kEncoderLinears; ++w)
            weights.push_back(t.bert->linear_weight(l, static_cast<EncoderLinear>(w)));
    at::Tensor heads = at::zeros({kLayers, kHeads}), ffn = at::zeros({kLayers, kNeurons});
    at::Tensor mask_grad_ffn = at::zeros({kLayers, kNeurons});
    for (int64_t begin = 0; begin < kExamples; begin += kBatch) {
        auto batch = t.batch(begin);
        at::Tensor hm = at::ones({kLayers, kHeads}), fm = at::ones({kLayers, kNeurons}).requires_grad_(true);
        model::ForwardOptions fo;
        fo.head_mask = hm;
        fo.ffn_mask = fm;
        at::Tensor loss = at::cross_entropy_loss(t.bert->forward(batch.inputs, fo).logits, batch.labels);
        std::vector<at::Tensor> wrt = weights;
        wrt.push_back(fm);
        auto g = torch::autograd::grad({loss}, wrt);
        std::map<std::pair<int64_t, int>, at::Tensor> values;
        for (size_t i = 0; i < weights.size(); ++i)
            values[{int64_t(i) / model::kEncoderLinears, int(i) % model::kEncoderLinears}] =
                (weights[i].detach() * g[i]).abs();
        auto [h, f] = per_unit(values);
        heads += h;
        ffn += f;
        // The same gradients, signed and summed over the output linear's column, are the FFN
        // mask's gradient: a check that these are the loss's weight gradients.
        for (int64_t l = 0; l < kLayers; ++l) {
            at::Tensor wg = weights[size_t(l * 6 + 5)].detach() * g[size_t(l * 6 + 5)];
            CHECK(at::allclose(wg.sum(0), g.back()[l], 1e-4, 1e-6));
        }
    }
    auto got = t.select(criterion("taylor"), 1, 2);
    CHECK(at::allclose(got.importance.heads, heads, 1e-4, 1e-7));
    CHECK(at::allclose(got.importance.ffn, ffn, 1e-4, 1e-7));
    CHECK(heads.min().item<float>() > 0);
    // The pass leaves the parameters as it found them.
    for (const auto& p : t.bert->parameters()) CHECK(p.requires_grad());
    for (const auto& w : weights) CHECK_FALSE(w.grad().defined());
}

TEST_CASE("wanda: |w| * ||x|| per weight over non-padding tokens, summed per unit, and its one-shot masks at 50%") {
    Tiny t;
    // Independently: the inputs each linear sees, with the padding rows dropped before the norms.
    auto squares = t.input_squares();
    std::map<std::pair<int64_t, int>, at::Tensor> values;
    for (int64_t l = 0; l < kLayers; ++l)
        for (int w = 0; w < model::kEncoderLinears; ++w)
            values[{l, w}] = t.weight(l, static_cast<EncoderLinear>(w)).abs() * squares[{l, w}].sqrt().unsqueeze(0);
    auto [heads, ffn] = per_unit(values);

    // 50% of the heads and of the neurons, one shot: the lowest scores across the layers go.
    auto got = t.select(criterion("wanda"), kLayers * kHeads / 2, kLayers * kNeurons / 2);
    CHECK(at::allclose(got.importance.heads, heads, 1e-4, 1e-6));
    CHECK(at::allclose(got.importance.ffn, ffn, 1e-4, 1e-6));
    auto expected_mask = [](const at::Tensor& scores) {
        at::Tensor mask = at::ones_like(scores);
        at::Tensor order = std::get<1>(scores.flatten().sort(/*stable=*/true, 0, false));
        mask.view(-1).index_fill_(0, order.slice(0, 0, scores.numel() / 2), 0.0f);
        return mask;
    };
    CHECK(at::equal(got.masks.heads, expected_mask(heads)));
    CHECK(at::equal(got.masks.ffn, expected_mask(ffn)));
}

TEST_CASE("linear evidence: Gram matrices of the inputs over non-padding tokens, and the views a plugin reads") {
    Tiny t;
    t.bert->eval();
    prune::LinearEvidence evidence(t.bert, CAP_NEEDS_INPUT_NORMS | CAP_NEEDS_INPUT_GRAM | CAP_NEEDS_WEIGHTS);
    CHECK(evidence.describe().find("input Gram matrices") != std::string::npos);
    auto batch = t.batch(0);
    at::Tensor real = batch.inputs.attention_mask.reshape(-1) != 0;
    at::Tensor seen;
    model::InputObserver capture = [&](int64_t l, EncoderLinear w, const at::Tensor& x) {
        if (l == 1 && w == EncoderLinear::kOutput) seen = x.detach().reshape({-1, x.size(-1)}).index({real});
    };
    {
        at::NoGradGuard no_grad;
        model::ForwardOptions fo;
        fo.inputs = &capture;
        t.bert->forward(batch.inputs, fo);
        model::ForwardOptions gathered;
        gathered.inputs = evidence.observer(batch.inputs.attention_mask);
        t.bert->forward(batch.inputs, gathered);
    }
    const auto& out = evidence.linears()[size_t(1 * model::kEncoderLinears + 5)];
    CHECK(out.name == "encoder.layer.1.output.dense");
    CHECK(out.role == CAP_LINEAR_OUTPUT);
    CHECK(at::allclose(out.input_gram, at::matmul(seen.t(), seen), 1e-4, 1e-5));
    CHECK(at::allclose(out.input_sq_norms, seen.pow(2).sum(0), 1e-4, 1e-5));

    // As a plugin sees them: four attention linears on the heads group, two on the ffn group.
    cap_unit_group heads{}, ffn{};
    heads.struct_size = ffn.struct_size = sizeof(cap_unit_group);
    prune::LinearViews views(evidence.linears(), evidence.head_size());
    views.attach(heads, ffn);
    CHECK(heads.head_size == kHeadSize);
    REQUIRE(heads.linear_count == 4 * kLayers);
    REQUIRE(ffn.linear_count == 2 * kLayers);
    CHECK(heads.linears[4]->layer == 1);
    CHECK(heads.linears[4]->linear_role == CAP_LINEAR_QUERY);
    CHECK(ffn.linears[3]->linear_role == CAP_LINEAR_OUTPUT);
    CHECK(ffn.linears[3]->input_gram->shape[0] == kNeurons);
    CHECK(ffn.linears[3]->weight_grad == nullptr);  // not asked for
}

TEST_CASE("activation_norm (examples/c-criterion, plain C): the same scores and masks as wanda") {
    Tiny t;
    auto in_c = t.select(criterion("activation_norm"), 1, 5);
    auto in_torch = t.select(criterion("wanda"), 1, 5);
    CHECK(at::allclose(in_c.importance.heads, in_torch.importance.heads, 1e-4, 1e-6));
    CHECK(at::allclose(in_c.importance.ffn, in_torch.importance.ffn, 1e-4, 1e-6));
    CHECK(at::equal(in_c.masks.heads, in_torch.masks.heads));
    CHECK(at::equal(in_c.masks.ffn, in_torch.masks.ffn));
    CHECK(in_c.masks.pruned_neurons() == 5);
}

TEST_CASE(
    "wanda per weight: |w| * ||x||, and at 50% every output row keeps its larger half, and a second event "
    "keeps what the first pruned") {
    Tiny t;
    auto squares = t.input_squares();
    auto wanda = criterion("wanda", {{"granularity", std::string("unstructured")}});
    REQUIRE(wanda.info().granularity == CAP_GRANULARITY_UNSTRUCTURED);
    model::WeightMasks masks(t.bert);
    auto got = t.select_weights(wanda, masks, 0.5);
    REQUIRE(got.importance.size() == size_t(kLayers * model::kEncoderLinears));
    for (int64_t l = 0; l < kLayers; ++l)
        for (int w = 0; w < model::kEncoderLinears; ++w) {
            CAPTURE(l);
            CAPTURE(w);
            const size_t i = size_t(l * model::kEncoderLinears + w);
            at::Tensor expected =
                t.weight(l, static_cast<EncoderLinear>(w)).abs() * squares[{l, w}].sqrt().unsqueeze(0);
            CHECK(at::allclose(got.importance[i], expected, 1e-4, 1e-6));
            // Directly: each row's in/2 largest scores kept.
            const int64_t keep = expected.size(1) - expected.size(1) / 2;
            at::Tensor direct = at::zeros_like(expected).scatter_(1, std::get<1>(expected.topk(keep, 1)), 1.0);
            CHECK(at::equal(got.masks[i], direct));
        }

    // Second event at 25% kept, from those masks: nothing pruned comes back, each row keeps a quarter.
    masks.binarize([&](const std::vector<at::Tensor>&) { return got.masks; });
    auto second = t.select_weights(wanda, masks, 0.25);
    for (size_t i = 0; i < second.masks.size(); ++i) {
        CHECK_FALSE(((got.masks[i] == 0) & (second.masks[i] != 0)).any().item<bool>());
        const int64_t in = second.masks[i].size(1);
        CHECK(at::equal(second.masks[i].sum(1), at::full({second.masks[i].size(0)}, double(in - int64_t(in * 0.75)))));
    }
}

TEST_CASE("taylor per weight: the accumulated |w * dL/dw| under the current masks, kept per matrix or globally") {
    Tiny t;
    // A first selection prunes half of every matrix by |w| (as magnitude would), so the pass runs
    // with masks applied: a pruned weight has no gradient and no importance.
    model::WeightMasks masks(t.bert);
    std::vector<at::Tensor> half;
    for (const auto& slot : masks.slots()) {
        at::Tensor w = t.weight(slot.layer, slot.which).abs();
        half.push_back((w >= w.flatten().median()).to(at::kFloat));
    }
    masks.binarize([&](const std::vector<at::Tensor>&) { return half; });

    // Independently: eval mode, batches of 16 in order, W * M in the forward pass, autograd.
    t.bert->eval();
    std::vector<at::Tensor> weights;
    for (const auto& slot : masks.slots()) weights.push_back(t.bert->linear_weight(slot.layer, slot.which));
    std::vector<at::Tensor> expected(weights.size());
    const model::WeightTransform transform = masks.transform();
    for (int64_t begin = 0; begin < kExamples; begin += kBatch) {
        auto batch = t.batch(begin);
        model::ForwardOptions fo;
        fo.weights = &transform;
        at::Tensor loss = at::cross_entropy_loss(t.bert->forward(batch.inputs, fo).logits, batch.labels);
        auto g = torch::autograd::grad({loss}, weights);
        for (size_t i = 0; i < weights.size(); ++i) {
            at::Tensor v = (weights[i].detach() * g[i]).abs();
            expected[i] = expected[i].defined() ? expected[i] + v : v;
        }
    }
    for (const char* scope : {"matrix", "global"}) {
        CAPTURE(scope);
        auto taylor =
            criterion("taylor", {{"granularity", std::string("unstructured")}, {"scope", std::string(scope)}});
        auto got = t.select_weights(taylor, masks, 0.3);
        int64_t kept = 0, total = 0;
        std::vector<at::Tensor> ranked;
        for (size_t i = 0; i < expected.size(); ++i) {
            CHECK(at::allclose(got.importance[i], expected[i], 1e-4, 1e-7));
            CHECK(got.importance[i].masked_select(half[i] == 0).abs().max().item<float>() == 0.0f);
            CHECK_FALSE(((half[i] == 0) & (got.masks[i] != 0)).any().item<bool>());
            if (std::string(scope) == "matrix") {
                const auto k = static_cast<int64_t>(0.3 * double(expected[i].numel()));
                CHECK(got.masks[i].sum().item<int64_t>() == k);
                // The kept weights are the k largest: none left out scores above one kept.
                CHECK(expected[i].masked_select(got.masks[i] == 0).max().item<float>() <=
                      expected[i].masked_select(got.masks[i] != 0).min().item<float>());
            }
            kept += got.masks[i].sum().item<int64_t>();
            total += got.masks[i].numel();
        }
        CHECK(kept == (std::string(scope) == "global" ? static_cast<int64_t>(0.3 * double(total)) : kept));
    }
    // The pass leaves the parameters as it found them.
    for (const auto& p : t.bert->parameters()) CHECK(p.requires_grad());
}
