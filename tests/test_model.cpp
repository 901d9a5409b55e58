// BERT against an independent implementation's outputs, checkpoint formats, masks and
// compaction.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "model/checkpoint.hpp"
#include "model/compaction.hpp"
#include "model/safetensors.hpp"
#include "model/torch_state_dict.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"
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
