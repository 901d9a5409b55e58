// BERT against an independent implementation's outputs, checkpoint formats, masks and
// compaction.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "model/checkpoint.hpp"
#include "model/compaction.hpp"
#include "model/safetensors.hpp"
#include "model/torch_state_dict.hpp"
#include "model/weight_masks.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "support/test_device.hpp"
#include "text/encoding.hpp"

namespace fs = std::filesystem;
using namespace cap::model;

namespace {

struct Reference {
    std::vector<std::string> sentences;
    std::vector<std::array<double, 2>> logits;
};

Reference read_reference(const fs::path& file) {
    Reference r;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        r.sentences.push_back(j["sentence"]);
        r.logits.push_back({j["logits"][0].get<double>(), j["logits"][1].get<double>()});
    }
    return r;
}

at::Tensor logits_of(LoadedModel& m, const std::vector<std::string>& sentences, int64_t max_length) {
    cap::text::WordPieceTokenizer tokenizer(*m.vocabulary);
    std::vector<int64_t> ids, types, mask;
    for (const auto& s : sentences) {
        auto e = cap::text::encode_text(tokenizer, s, nullptr, max_length, max_length);
        ids.insert(ids.end(), e.input_ids.begin(), e.input_ids.end());
        types.insert(types.end(), e.token_type_ids.begin(), e.token_type_ids.end());
        mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
    }
    const auto n = static_cast<int64_t>(sentences.size());
    BertBatch batch{at::tensor(ids).view({n, max_length}), at::tensor(types).view({n, max_length}),
                    at::tensor(mask).view({n, max_length})};
    m.model->eval();
    torch::NoGradGuard no_grad;
    return m.model->forward(batch).logits;
}

}  // namespace

TEST_CASE("model: bert-tiny-sst2 reproduces the reference logits from safetensors and from .bin") {
    auto models = cap::test::models_dir();
    CAP_REQUIRE_SHARED(models, "shared models");
    const fs::path folder = *models / "bert-tiny-sst2";
    auto reference = read_reference(*models / "reference" / "logits.jsonl");
    REQUIRE(reference.sentences.size() == 32);

    auto from_safetensors = load_pretrained(folder, TaskHead::kClassification);
    CHECK(from_safetensors.report.missing.empty());
    at::Tensor a = logits_of(from_safetensors, reference.sentences, 128);
    for (size_t i = 0; i < reference.sentences.size(); ++i) {
        CAPTURE(i);
        CHECK(std::abs(a[i][0].item<double>() - reference.logits[i][0]) < 1e-4);
        CHECK(std::abs(a[i][1].item<double>() - reference.logits[i][1]) < 1e-4);
    }
    // The .bin file holds the same weights: identical logits.
    auto state = read_torch_state_dict(folder / "pytorch_model.bin");
    Bert from_bin(from_safetensors.model->config(), TaskHead::kClassification);
    auto report = assign_state(from_bin, state, "pytorch_model.bin");
    CHECK(report.missing.empty());
    LoadedModel bin_model{from_bin, {}, from_safetensors.vocabulary, report};
    CHECK(at::equal(logits_of(bin_model, reference.sentences, 128), a));
}

namespace {

BertConfig tiny_config(int64_t labels = 2) {
    BertConfig c;
    c.vocab_size = 64;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.intermediate_size = 12;
    c.max_position_embeddings = 32;
    for (int64_t i = 0; i < labels; ++i) c.labels.push_back("LABEL_" + std::to_string(i));
    return c;
}

BertBatch random_batch(const c10::Device& device = at::kCPU, int64_t batch = 3, int64_t length = 10) {
    at::manual_seed(11);
    at::Tensor ids = at::randint(5, 64, {batch, length}, at::kLong);
    at::Tensor mask = at::ones({batch, length}, at::kLong);
    mask[0].narrow(0, 6, 4).zero_();  // padding in the first row
    ids = ids.to(device);
    return {ids, at::zeros_like(ids), mask.to(device)};
}

Bert make_model(const c10::Device& device = at::kCPU, TaskHead head = TaskHead::kClassification) {
    at::manual_seed(5);
    Bert m(tiny_config(), head);
    m->eval();
    m->to(device);
    return m;
}

at::TensorOptions on(const c10::Device& device) { return at::TensorOptions().device(device); }

}  // namespace

TEST_CASE("model: all-ones masks change nothing") {
    CAP_TEST_DEVICE(device);
    auto m = make_model(device);
    torch::NoGradGuard no_grad;
    auto batch = random_batch(device);
    at::Tensor plain = m->forward(batch).logits;
    ForwardOptions ones;
    ones.head_mask = at::ones({2, 4}, on(device));
    ones.ffn_mask = at::ones({2, 12}, on(device));
    CHECK(at::allclose(m->forward(batch, ones).logits, plain, 0, 1e-6));
    WeightTransform identity = [](int64_t, EncoderLinear, const at::Tensor& w) { return w * at::ones_like(w); };
    ForwardOptions weights;
    weights.weights = &identity;
    CHECK(at::allclose(m->forward(batch, weights).logits, plain, 0, 1e-6));
}

TEST_CASE("model: gradients w.r.t. head and FFN masks are available") {
    CAP_TEST_DEVICE(device);
    auto m = make_model(device);
    auto batch = random_batch(device);
    ForwardOptions o;
    o.head_mask = at::ones({2, 4}, on(device)).requires_grad_(true);
    o.ffn_mask = at::ones({2, 12}, on(device)).requires_grad_(true);
    at::Tensor loss = at::cross_entropy_loss(m->forward(batch, o).logits, at::tensor({0L, 1L, 1L}).to(device));
    loss.backward();
    REQUIRE(o.head_mask.grad().defined());
    CHECK(o.head_mask.grad().sizes() == at::IntArrayRef({2, 4}));
    CHECK(o.ffn_mask.grad().abs().sum().item<double>() > 0);
    // A first-order score is |dL/dmask|; a masked head has zero contribution to the output.
}

TEST_CASE("model: a zero in a weight mask is the same as a zero weight") {
    CAP_TEST_DEVICE(device);
    auto m = make_model(device);
    torch::NoGradGuard no_grad;
    auto batch = random_batch(device);
    at::Tensor mask = at::ones_like(m->linear_weight(1, EncoderLinear::kIntermediate));
    mask[3].zero_();
    WeightTransform masked = [&](int64_t layer, EncoderLinear which, const at::Tensor& w) {
        return layer == 1 && which == EncoderLinear::kIntermediate ? w * mask : w;
    };
    ForwardOptions o;
    o.weights = &masked;
    at::Tensor via_mask = m->forward(batch, o).logits;
    m->linear_weight(1, EncoderLinear::kIntermediate)[3].zero_();
    CHECK(at::allclose(m->forward(batch).logits, via_mask, 0, 1e-6));
}

TEST_CASE("model: pooled representations are L2-normalised, cls and mean") {
    CAP_TEST_DEVICE(device);
    auto m = make_model(device);
    torch::NoGradGuard no_grad;
    auto batch = random_batch(device);
    for (Pooling p : {Pooling::kCls, Pooling::kMean}) {
        ForwardOptions o;
        o.representation = p;
        at::Tensor r = m->forward(batch, o).representation;
        REQUIRE(r.sizes() == at::IntArrayRef({3, 16}));
        CHECK(at::allclose(r.norm(2, 1), at::ones({3}, on(device)), 0, 1e-5));
    }
    auto span = make_model(device, TaskHead::kSpan);
    ForwardOptions o;
    o.representation = Pooling::kCls;
    auto out = span->forward(batch, o);
    CHECK(out.start_logits.sizes() == at::IntArrayRef({3, 10}));
    CHECK(out.representation.sizes() == at::IntArrayRef({3, 16}));
}

TEST_CASE("model: compaction removes masked heads and neurons and keeps the outputs") {
    CAP_TEST_DEVICE(device);
    auto m = make_model(device);
    torch::NoGradGuard no_grad;
    auto batch = random_batch(device);
    at::Tensor heads = at::ones({2, 4}, on(device));
    heads[0][1] = 0;
    heads[0][3] = 0;
    heads[1].zero_();  // a layer without attention
    at::Tensor ffn = at::ones({2, 12}, on(device));
    ffn[0].narrow(0, 0, 5).zero_();
    ffn[1][7] = 0;
    ForwardOptions o;
    o.head_mask = heads;
    o.ffn_mask = ffn;
    at::Tensor masked = m->forward(batch, o).logits;
    Bert small = compact(m, heads, ffn);
    CHECK(small->config().heads_in_layer(0) == 2);
    CHECK(small->config().heads_in_layer(1) == 0);
    CHECK(small->config().pruned_heads.at(0) == std::vector<int64_t>{1, 3});
    CHECK(small->config().intermediate_sizes == std::vector<int64_t>{7, 11});
    CHECK(small->linear_weight(0, EncoderLinear::kQuery).size(0) == 2 * 4);
    CHECK(at::allclose(small->forward(batch).logits, masked, 0, 1e-5));

    // Saved and loaded again (pruned_heads and intermediate_sizes in config.json): same outputs.
    const fs::path dir = cap::test::scratch_dir("compacted_model");
    save_pretrained(small, dir, nullptr);
    auto back = load_pretrained(dir, TaskHead::kClassification);
    CHECK(back.report.missing.empty());
    back.model->eval();
    back.model->to(device);
    CHECK(at::allclose(back.model->forward(batch).logits, masked, 0, 1e-5));
    auto config = nlohmann::json::parse(cap::test::read_text(dir / "config.json"));
    CHECK(config["pruned_heads"]["0"] == std::vector<int>{1, 3});
    CHECK(config["pruned_heads"]["1"] == std::vector<int>{0, 1, 2, 3});

    // Equal FFN widths everywhere: plain intermediate_size, which Hugging Face can load.
    at::Tensor uniform = at::ones({2, 12}, on(device));
    uniform[0][0] = 0;
    uniform[1][5] = 0;
    Bert even = compact(m, {}, uniform);
    CHECK(even->config().intermediate_sizes.empty());
    CHECK(even->config().intermediate_size == 11);
}

TEST_CASE("model: checkpoint key variants load (no bert. prefix, gamma/beta) and a new head is reported") {
    auto m = make_model();
    std::vector<std::pair<std::string, at::Tensor>> state;
    for (auto& p : m->named_parameters()) {
        std::string key = p.key();
        if (key.rfind("classifier", 0) == 0) continue;        // a pre-training checkpoint: no head
        if (key.rfind("bert.", 0) == 0) key = key.substr(5);  // BertModel-style names
        auto ends = [&](const std::string& s) {
            return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0;
        };
        if (ends("LayerNorm.weight")) key = key.substr(0, key.size() - 6) + "gamma";
        if (ends("LayerNorm.bias")) key = key.substr(0, key.size() - 4) + "beta";
        state.emplace_back(key, p.value().detach().clone());
    }
    state.emplace_back("cls.predictions.bias", at::zeros({64}));
    state.emplace_back("bert.embeddings.position_ids", at::arange(32).unsqueeze(0));
    at::manual_seed(99);
    Bert fresh(tiny_config(), TaskHead::kClassification);
    auto report = assign_state(fresh, state, "test");
    CHECK(report.missing == std::vector<std::string>{"classifier.weight", "classifier.bias"});
    CHECK(report.unexpected == std::vector<std::string>{"cls.predictions.bias"});
    CHECK(at::equal(fresh->linear_weight(1, EncoderLinear::kOutput), m->linear_weight(1, EncoderLinear::kOutput)));
    CHECK(at::equal(fresh->bert->embeddings->norm->weight, m->bert->embeddings->norm->weight));

    Bert three(tiny_config(3), TaskHead::kClassification);
    std::vector<std::pair<std::string, at::Tensor>> two_labels;
    for (auto& p : m->named_parameters()) two_labels.emplace_back(p.key(), p.value());
    CHECK_THROWS_WITH_AS(assign_state(three, two_labels, "ckpt"), doctest::Contains("a different number of labels"),
                         std::runtime_error);
}

TEST_CASE("model: truncated or corrupt weight files are clear errors") {
    const fs::path dir = cap::test::scratch_dir("corrupt_weights");
    auto m = make_model();
    save_pretrained(m, dir / "ok", nullptr);
    const std::string good = cap::test::read_text(dir / "ok" / "model.safetensors");
    cap::test::write_text(dir / "truncated.safetensors", good.substr(0, good.size() - 100));
    CHECK_THROWS_WITH_AS(read_safetensors(dir / "truncated.safetensors"), doctest::Contains("truncated file?"),
                         std::runtime_error);
    cap::test::write_text(dir / "tiny.safetensors", "abc");
    CHECK_THROWS_WITH_AS(read_safetensors(dir / "tiny.safetensors"),
                         doctest::Contains("shorter than its 8-byte header"), std::runtime_error);
    std::string bad_header = good;
    bad_header[9] = '#';
    cap::test::write_text(dir / "header.safetensors", bad_header);
    CHECK_THROWS_WITH_AS(read_safetensors(dir / "header.safetensors"), doctest::Contains("header is not JSON"),
                         std::runtime_error);
    cap::test::write_text(dir / "not.bin", "this is not a zip archive");
    CHECK_THROWS_WITH_AS(read_torch_state_dict(dir / "not.bin"), doctest::Contains("not.bin"), std::runtime_error);
    CHECK_THROWS_WITH_AS(load_pretrained(dir / "missing", TaskHead::kClassification),
                         doctest::Contains("model folder not found"), std::runtime_error);
}

TEST_CASE("model: safetensors round-trips float32 and reads float16 and bfloat16 as float32") {
    const fs::path dir = cap::test::scratch_dir("safetensors_types");
    at::Tensor a = at::randn({3, 5});
    write_safetensors(dir / "a.safetensors", {{"a", a}, {"half", a.to(at::kHalf)}, {"bf", a.to(at::kBFloat16)}});
    auto back = read_safetensors(dir / "a.safetensors");
    REQUIRE(back.tensors.size() == 3);
    CHECK(back.metadata.at("format") == "pt");
    CHECK(at::equal(back.tensors[0].second, a));
    CHECK((back.tensors[1].second.scalar_type() == at::kFloat));
    CHECK(at::allclose(back.tensors[1].second, a, 1e-2, 1e-2));
    CHECK(at::allclose(back.tensors[2].second, a, 2e-2, 2e-2));
}

TEST_CASE("model: learnable scores binarise forward and get the straight-through gradient") {
    auto m = make_model();
    auto batch = random_batch();
    WeightMasks masks(m);
    REQUIRE(masks.slots().size() == 12);  // 2 layers x 6 linears
    CHECK(masks.slots()[4].name == "bert.encoder.layer.0.intermediate.dense");
    masks.create_scores(0.0);
    at::manual_seed(4);
    for (auto& s : masks.slots()) s.scores.data().normal_();
    // keep the top half of every matrix
    masks.binarize([](const std::vector<at::Tensor>& scores) {
        std::vector<at::Tensor> out;
        for (const auto& s : scores) {
            at::Tensor m = at::zeros_like(s);
            m.view(-1).index_fill_(0, std::get<1>(s.flatten().topk(s.numel() / 2)), 1.0);
            out.push_back(m);
        }
        return out;
    });
    CHECK(masks.kept_fraction() == doctest::Approx(0.5));
    WeightTransform hook = masks.transform();
    ForwardOptions o;
    o.weights = &hook;
    at::Tensor loss = at::cross_entropy_loss(m->forward(batch, o).logits, at::tensor({0L, 1L, 1L}));
    loss.backward();
    // dL/dS == dL/dW' * W, and dL/dW == dL/dW' * M.
    const auto& slot = masks.slots()[4];
    at::Tensor weight = m->linear_weight(0, EncoderLinear::kIntermediate);
    REQUIRE(slot.scores.grad().defined());
    at::Tensor grad_effective = weight.grad() / slot.mask;  // where M = 1
    at::Tensor kept = slot.mask > 0;
    CHECK(at::allclose(slot.scores.grad().masked_select(kept), (grad_effective * weight).masked_select(kept), 1e-4,
                       1e-7));
    CHECK(weight.grad().masked_select(~kept).abs().max().item<double>() == 0.0);
    CHECK(slot.scores.grad().masked_select(~kept).abs().sum().item<double>() > 0);  // pruned weights still learn
    // The masked forward equals the weights zeroed where M = 0.
    torch::NoGradGuard no_grad;
    at::Tensor via_hook = m->forward(batch, o).logits;
    for (const auto& s : masks.slots()) m->linear_weight(s.layer, s.which).mul_(s.mask);
    CHECK(at::allclose(m->forward(batch).logits, via_hook, 0, 1e-5));
}
