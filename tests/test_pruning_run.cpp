// CAP-f end to end on the embedded synthetic task: two stages through the cap binary, every
// plugin loaded from its library; the run folder must hold what the README promises.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "model/checkpoint.hpp"
#include "model/safetensors.hpp"
#include "support/process.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using namespace cap;

namespace {

std::vector<nlohmann::json> events(const fs::path& run, const std::string& kind) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(cap::test::read_text(run / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) {
        auto e = nlohmann::json::parse(line);
        if (e["event"] == kind) out.push_back(e);
    }
    return out;
}

at::Tensor tensor(const model::SafetensorsFile& f, const std::string& name) {
    for (const auto& [n, t] : f.tensors)
        if (n == name) return t;
    FAIL("no tensor " << name);
    return {};
}

}  // namespace

TEST_CASE("pruning run: two CAP-f stages on the synthetic task prune the planned units and save the result") {
    const fs::path dir = cap::test::scratch_dir("pruning-run");
    const fs::path recipe = cap::test::write_text(dir / "capf.toml", R"(
[run]
name = "capf"
seed = 3
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 600
max_eval_examples = 200
[finetune]
epochs = 2
batch_size = 32
learning_rate = 5e-4
[criterion]
plugin = "first_order"
[schedule]
plugin = "iterative"
percents = [25, 50]
retrain_epochs = 1.0
[contrastive.prc]
extra_negatives = 64
[contrastive.snc]
extra_negatives = 64
bank_dtype = "float16"
[contrastive.fic]
extra_negatives = 64
[distill]
plugin = "kd"
[prune]
batch_size = 32
learning_rate = 5e-4
importance_subset = 0.5
log_every = 5
)");
    const fs::path run = dir / "run";
    auto result = cap::test::run_cap("run " + recipe.string() + " --out " + run.string());
    INFO(result.output);
    REQUIRE(result.exit_code == 0);

    // Masks per stage: 2 x 2 heads and 2 x 512 neurons; 25% then 50% of each (int(n * p)).
    auto masks = model::read_safetensors(run / "masks.safetensors");
    auto scores = model::read_safetensors(run / "importance.safetensors");
    CHECK(masks.tensors.size() == 4);
    CHECK((tensor(masks, "stage_00.heads") == 0).sum().item<int64_t>() == 1);
    CHECK((tensor(masks, "stage_00.ffn") == 0).sum().item<int64_t>() == 256);
    CHECK((tensor(masks, "stage_01.heads") == 0).sum().item<int64_t>() == 2);
    CHECK((tensor(masks, "stage_01.ffn") == 0).sum().item<int64_t>() == 512);
    // min_heads_per_layer = 1 (the default): every layer keeps a head.
    CHECK((tensor(masks, "stage_01.heads").sum(1) >= 1).all().item<bool>());
    // Later masks only remove more.
    CHECK(((tensor(masks, "stage_00.ffn") == 0) & (tensor(masks, "stage_01.ffn") != 0)).sum().item<int64_t>() == 0);
    CHECK(tensor(scores, "stage_01.ffn").sizes().equals({2, 512}));
    CHECK(tensor(scores, "stage_00.heads").abs().sum().item<float>() > 0);

    // Every loss term is logged on its own; SnC joins at the second stage.
    std::vector<nlohmann::json> train;  // the pruning stages' (the teacher's fine-tuning comes first)
    for (auto& e : events(run, "train"))
        if (e["stage"].get<std::string>().rfind("stage-", 0) == 0) train.push_back(e);
    REQUIRE(!train.empty());
    CHECK(train.front().contains("ce"));
    CHECK(train.front().contains("distill"));
    CHECK(train.front().contains("prc.unsupervised"));
    CHECK(train.front().contains("fic.supervised"));
    CHECK_FALSE(train.front().contains("snc.unsupervised"));
    CHECK(train.back().contains("snc.unsupervised"));
    auto stages = events(run, "stage");
    REQUIRE(stages.size() == 2);
    CHECK(stages[1]["heads_kept"] == 2);
    CHECK(stages[1]["ffn_neurons_kept"] == 512);
    CHECK(stages[1]["bank_bytes"]["snc"].get<int64_t>() == 600 * 128 * 2 + 600 * 8);  // float16 snapshot, labels

    // The compacted model has the kept units only, and scores as the masked one did.
    auto final_events = events(run, "final");
    REQUIRE(final_events.size() == 1);
    CHECK(final_events[0]["accuracy"].get<double>() == doctest::Approx(stages[1]["accuracy"].get<double>()).epsilon(0.01));
    auto compact = model::load_pretrained(run / "final", model::TaskHead::kClassification);
    const auto& cfg = compact.model->config();
    int64_t heads = 0, neurons = 0;
    for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) {
        heads += static_cast<int64_t>(cfg.kept_heads(l).size());
        neurons += cfg.intermediate_in_layer(l);
    }
    CHECK(heads == 2);
    CHECK(neurons == 512);
    CHECK(fs::exists(run / "final-masked" / "model.safetensors"));
    auto summary = nlohmann::json::parse(cap::test::read_text(run / "summary.json"));
    CHECK(summary["stages"].size() == 2);
    CHECK(result.output.find("bank 1:") != std::string::npos);  // bank sizes are logged
}
