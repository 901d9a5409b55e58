// CAP-f end to end on the embedded synthetic task: two stages through the cap binary, every
// plugin loaded from its library; the run folder must hold what the README promises.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <map>
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

// The `kind` events of the stages whose name starts with `stage_prefix`.
std::vector<nlohmann::json> stage_events(const fs::path& run, const std::string& kind,
                                         const std::string& stage_prefix) {
    std::vector<nlohmann::json> out;
    for (auto& e : events(run, kind))
        if (e["stage"].get<std::string>().rfind(stage_prefix, 0) == 0) out.push_back(e);
    return out;
}

at::Tensor tensor(const model::SafetensorsFile& f, const std::string& name) {
    for (const auto& [n, t] : f.tensors)
        if (n == name) return t;
    FAIL("no tensor " << name);
    return {};
}

// A run on bert-tiny and the synthetic task, fine-tuned for one epoch, with `tables` (criterion,
// schedule, prune) and the test fixtures on the plugin path.
std::pair<fs::path, cap::test::CommandResult> tiny_fixture_run(const std::string& name, const std::string& tables) {
    const fs::path dir = cap::test::scratch_dir(name);
    const fs::path recipe = cap::test::write_text(dir / "recipe.toml", cap::test::tiny_recipe("misbehaving") + tables);
    const fs::path run = dir / "run";
    return {run, cap::test::run_cap("run " + recipe.string() + " --out " + run.string() + " --plugin-path " +
                                    cap::test::kFixturesOk)};
}

// The fixture criterion with `criterion_keys`, stages at 25% and 50% without retraining.
std::pair<fs::path, cap::test::CommandResult> fixture_criterion_run(const std::string& name,
                                                                    const std::string& criterion_keys) {
    return tiny_fixture_run(name, "[criterion]\nplugin = \"fixture\"\nneeded = 1\n" + criterion_keys +
                                      "\n[schedule]\nplugin = \"iterative\"\npercents = [25, 50]\n"
                                      "retrain_epochs = 0\n[prune]\nbatch_size = 32\n");
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
    auto train = stage_events(run, "train", "stage-");  // not the teacher's fine-tuning
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
    CHECK(final_events[0]["accuracy"].get<double>() ==
          doctest::Approx(stages[1]["accuracy"].get<double>()).epsilon(0.01));
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

namespace {

// An unstructured run on the synthetic task: `criterion` with the cubic schedule over 3 epochs,
// the three contrastive modules and distillation.
fs::path unstructured_run(const std::string& name, const std::string& criterion_table, double final_threshold,
                          double initial_threshold) {
    const fs::path dir = cap::test::scratch_dir("unstructured-" + name);
    const fs::path recipe = cap::test::write_text(dir / (name + ".toml"), R"(
[run]
name = ")" + name + R"("
seed = 5
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 320
max_eval_examples = 100
[finetune]
epochs = 2
batch_size = 32
learning_rate = 5e-4
)" + criterion_table + R"(
[schedule]
plugin = "cubic"
initial_threshold = )" + std::to_string(initial_threshold) + R"(
final_threshold = )" + std::to_string(final_threshold) + R"(
warmup_steps = 5
initial_warmup = 1
final_warmup = 2
[contrastive.prc]
extra_negatives = 64
[contrastive.snc]
extra_negatives = 64
[contrastive.fic]
extra_negatives = 64
[distill]
plugin = "kd"
temperature = 2.0
[prune]
epochs = 3
batch_size = 32
learning_rate = 5e-4
warmup_steps = 5
log_every = 5
)");
    const fs::path run = dir / "run";
    auto result = cap::test::run_cap("run " + recipe.string() + " --out " + run.string());
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("remaining weights (global, as counts_parameters.py)") != std::string::npos);
    return run;
}

}  // namespace

TEST_CASE(
    "pruning run: movement top-k to 10% on the synthetic task, with snapshots each epoch, exports a zeroed model") {
    const fs::path run = unstructured_run("movement", "[criterion]\nplugin = \"movement\"\n", 0.1, 1.0);

    // Exactly int(0.1 * numel) kept per matrix at the final threshold, zeros in the export there.
    auto masks = model::read_safetensors(run / "masks.safetensors");
    REQUIRE(masks.tensors.size() == 12);  // 2 layers x 6 linears
    auto exported = model::load_pretrained(run / "final", model::TaskHead::kClassification);
    std::map<std::string, at::Tensor> weights;
    for (auto& p : exported.model->named_parameters()) weights[p.key()] = p.value();
    int64_t kept = 0, total = 0;
    for (const auto& [name, mask] : masks.tensors) {
        CAPTURE(name);
        CHECK((mask.scalar_type() == at::kByte));
        CHECK(mask.sum().item<int64_t>() == static_cast<int64_t>(0.1 * double(mask.numel())));
        REQUIRE(weights.count(name));
        CHECK(weights[name].masked_select(mask == 0).abs().max().item<float>() == 0.0f);
        CHECK(weights[name].masked_select(mask == 1).abs().sum().item<float>() > 0.0f);
        kept += mask.sum().item<int64_t>();
        total += mask.numel();
    }
    CHECK(fs::exists(run / "scores.safetensors"));

    // remaining_weights.csv: the global row counts biases and LayerNorm as remaining (3.4).
    const std::string csv = cap::test::read_text(run / "remaining_weights.csv");
    CHECK(csv.rfind("layer,matrix,kept,total,remaining_percent\n", 0) == 0);
    const int64_t others = 2 * (4 * 128 + 512 + 128 + 4 * 128);
    const double percent = 100.0 * double(kept + others) / double(total + others);
    CHECK(csv.find(fmt::format("all,encoder,{},{},{:.4f}\n", kept + others, total + others, percent)) !=
          std::string::npos);

    // Every evaluation is at the final threshold; the threshold falls while training.
    auto pruning_evals = stage_events(run, "eval", "prune");
    REQUIRE(pruning_evals.size() == 3);
    for (auto& e : pruning_evals) {
        CHECK(e["threshold"].get<double>() == doctest::Approx(0.1));
        CHECK(e["remaining_weights"].get<double>() == doctest::Approx(percent));
    }
    auto train = stage_events(run, "train", "prune");
    REQUIRE(train.size() >= 3);
    CHECK(train.front()["threshold"].get<double>() > train.back()["threshold"].get<double>());
    CHECK(train.back()["threshold"].get<double>() == doctest::Approx(0.1));
    CHECK_FALSE(train.front().contains("regularizer"));
    // SnC joins with the snapshot taken at the start of epoch 2 (steps_per_epoch = 10).
    CHECK_FALSE(train.front().contains("snc.unsupervised"));
    CHECK(train.back().contains("snc.unsupervised"));
    CHECK(train.back().contains("prc.supervised"));
    CHECK(train.back().contains("distill"));

    // The export evaluates as the masked model did, and the final event says how much remains.
    auto final_events = events(run, "final");
    REQUIRE(final_events.size() == 1);
    CHECK(final_events[0]["accuracy"].get<double>() == doctest::Approx(pruning_evals.back()["accuracy"].get<double>()));
    CHECK(final_events[0]["remaining_weights"].get<double>() == doctest::Approx(percent));
    CHECK(final_events[0]["bank_bytes"]["snc"].get<int64_t>() == 2 * 320 * 128 * 4 + 320 * 8);  // 2 snapshots
}

TEST_CASE("pruning run: soft movement adds the ramped L1 term and keeps what sigmoid(S) > 0.1 says") {
    const fs::path run = unstructured_run(
        "soft", "[criterion]\nplugin = \"soft_movement\"\nfinal_lambda = 500.0\nscores_learning_rate = 0.5\n", 0.1,
        0.0);
    auto train = stage_events(run, "train", "prune");
    REQUIRE(!train.empty());
    CHECK(train.front()["regularizer"].get<double>() == 0.0);  // threshold 0: lambda_t = 0
    CHECK(train.back()["regularizer"].get<double>() > 0.0);
    // The exported masks are sigmoid(scores) > 0.1, or the safeguard's minimum.
    auto masks = model::read_safetensors(run / "masks.safetensors");
    auto scores = model::read_safetensors(run / "scores.safetensors");
    REQUIRE(scores.tensors.size() == masks.tensors.size());
    for (size_t i = 0; i < masks.tensors.size(); ++i) {
        const at::Tensor& mask = masks.tensors[i].second;
        const at::Tensor& s = scores.tensors[i].second;
        const int64_t above = (at::sigmoid(s) > 0.1).sum().item<int64_t>();
        const int64_t floor = static_cast<int64_t>(0.005 * double(s.numel())) + 1;
        if (above >= floor)
            CHECK(mask.sum().item<int64_t>() == above);
        else
            CHECK(mask.sum().item<int64_t>() <= floor);
    }
    auto final_events = events(run, "final");
    REQUIRE(final_events.size() == 1);
    CHECK(final_events[0]["remaining_weights"].get<double>() < 100.0);
}

TEST_CASE("pruning run: magnitude (no scores) keeps the largest weights on the same schedule") {
    const fs::path run = unstructured_run("magnitude", "[criterion]\nplugin = \"magnitude\"\n", 0.1, 1.0);
    CHECK_FALSE(fs::exists(run / "scores.safetensors"));
    auto masks = model::read_safetensors(run / "masks.safetensors");
    auto exported = model::load_pretrained(run / "final", model::TaskHead::kClassification);
    std::map<std::string, at::Tensor> weights;
    for (auto& p : exported.model->named_parameters()) weights[p.key()] = p.value();
    REQUIRE(masks.tensors.size() == 12);
    for (const auto& [name, mask] : masks.tensors) {
        CAPTURE(name);
        CHECK(mask.sum().item<int64_t>() == static_cast<int64_t>(0.1 * double(mask.numel())));
        CHECK(at::equal((weights[name] != 0).to(at::kByte), mask));  // kept = the nonzero ones
    }
    auto final_events = events(run, "final");
    REQUIRE(final_events.size() == 1);
    CHECK(final_events[0]["remaining_weights"].get<double>() < 11.0);
}

TEST_CASE("pruning run: wanda one shot without retraining prunes once, trains nothing and evaluates the masks") {
    const fs::path dir = cap::test::scratch_dir("wanda-one-shot");
    const fs::path recipe = cap::test::write_text(dir / "wanda.toml", R"(
[run]
name = "wanda"
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 200
max_eval_examples = 100
[finetune]
epochs = 1
batch_size = 32
[criterion]
plugin = "wanda"
[schedule]
plugin = "one_shot"
percent = 50
retrain_epochs = 0
[prune]
batch_size = 32
)");
    const fs::path run = dir / "run";
    auto result = cap::test::run_cap("run " + recipe.string() + " --out " + run.string());
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("importance pass: criterion/wanda sees weights (views, no copy), input norms (") !=
          std::string::npos);
    CHECK(stage_events(run, "train", "stage-").empty());  // no retraining step
    auto masks = model::read_safetensors(run / "masks.safetensors");
    CHECK((tensor(masks, "stage_00.heads") == 0).sum().item<int64_t>() == 2);  // 50% of 4
    CHECK((tensor(masks, "stage_00.ffn") == 0).sum().item<int64_t>() == 512);  // 50% of 1024
    CHECK((tensor(masks, "stage_00.heads").sum(1) >= 1).all().item<bool>());   // min_heads_per_layer = 1
    auto stages = events(run, "stage");
    REQUIRE(stages.size() == 1);
    auto final_events = events(run, "final");
    REQUIRE(final_events.size() == 1);
    CHECK(final_events[0]["accuracy"].get<double>() == doctest::Approx(stages[0]["accuracy"].get<double>()));
}

TEST_CASE("pruning run: a criterion that breaks the host's rules stops the run naming it, the stage and the unit") {
    struct Case {
        const char* misbehave;
        const char* says;
    };
    const Case cases[] = {
        // Run with on_violation = "stop": under "warn" all_heads would go on to the count check.
        {"all_heads", "stage-00: criterion/fixture left layer 0 with 0 heads; [constraints] min_heads_per_layer = 1"},
        {"nan",
         "stage-00: criterion/fixture gave a non-finite importance to FFN neurons (first: layer 0, FFN neuron 3)"},
        {"extra", "stage-00: criterion/fixture pruned 1 heads and 1024 FFN neurons; the schedule planned 1 and 256"},
        {"revive", "stage-01: criterion/fixture brought a pruned FFN neuron back (layer 0, FFN neuron "},
    };
    for (const auto& c : cases) {
        CAPTURE(c.misbehave);
        const auto ran = fixture_criterion_run(
            std::string("misbehaving-") + c.misbehave,
            std::string("misbehave = \"") + c.misbehave + "\"\n[constraints]\non_violation = \"stop\"");
        const fs::path& run = ran.first;
        const auto& result = ran.second;
        INFO(result.output);
        CHECK(result.exit_code == 1);
        CHECK(result.output.find(c.says) != std::string::npos);
        // Stopped before any result: the fine-tuned teacher stays for a resume, no final model.
        CHECK(fs::exists(run / "teacher" / "model.safetensors"));
        CHECK_FALSE(fs::exists(run / "final"));
        CHECK_FALSE(fs::exists(run / "summary.json"));
    }
}

TEST_CASE(
    "pruning run: a layer left below min_heads_per_layer is warned about and recorded, as the reference goes on") {
    // first_layer prunes the planned heads lowest layer first: stage-01 empties layer 0.
    const auto ran = fixture_criterion_run("constraint-warn", "misbehave = \"first_layer\"");
    const fs::path& run = ran.first;
    INFO(ran.second.output);
    REQUIRE(ran.second.exit_code == 0);
    CHECK(ran.second.output.find("criterion/fixture left layer 0 with 0 heads; [constraints] min_heads_per_layer = 1; "
                                 "going on, as the reference does") != std::string::npos);
    auto stages = events(run, "stage");
    REQUIRE(stages.size() == 2);
    CHECK_FALSE(stages[0].contains("layers_below_min_heads"));
    REQUIRE(stages[1].contains("layers_below_min_heads"));
    CHECK(stages[1]["layers_below_min_heads"] ==
          nlohmann::json::parse(R"([{"layer": 0, "heads_kept": 0, "min_heads_per_layer": 1}])"));
    CHECK(fs::exists(run / "final" / "model.safetensors"));
    // The report says which run and stage went below the constraint.
    const auto report =
        cap::test::run_cap("report " + run.string() + " --out " + (run.parent_path() / "report").string());
    INFO(report.output);
    CHECK(report.exit_code == 0);
    const std::string table = cap::test::read_text(run.parent_path() / "report" / "table.md");
    CHECK(table.find("stage-01 left layer 0 with 0 heads (min_heads_per_layer = 1)") != std::string::npos);
}

TEST_CASE(
    "pruning run: on_violation = stop ends the run at the layer, and --resume --set on_violation=warn continues it") {
    const auto ran =
        fixture_criterion_run("constraint-stop", "misbehave = \"first_layer\"\n[constraints]\non_violation = \"stop\"");
    const fs::path& run = ran.first;
    {
        INFO(ran.second.output);
        CHECK(ran.second.exit_code == 1);
        CHECK(ran.second.output.find("stage-01: criterion/fixture left layer 0 with 0 heads; [constraints] "
                                     "min_heads_per_layer = 1; [constraints] on_violation = \"stop\" ends the run "
                                     "here") != std::string::npos);
        CHECK(ran.second.output.find("cap run --resume " + run.string() +
                                     " --set constraints.on_violation=warn continues it") != std::string::npos);
        CHECK_FALSE(fs::exists(run / "final"));
        CHECK_FALSE(fs::exists(run / "summary.json"));
    }
    // --resume changes nothing else: any other key is refused, and nothing is written.
    const std::string manifest_before = cap::test::read_text(run / "manifest.json");
    auto refused = cap::test::run_cap("run --resume " + run.string() + " --set prune.learning_rate=1 --plugin-path " +
                                      cap::test::kFixturesOk);
    {
        INFO(refused.output);
        CHECK(refused.exit_code == 2);
        CHECK(refused.output.find("--set prune.learning_rate cannot change on the way (only constraints.on_violation "
                                  "and criterion.protect_kept_heads_only can") != std::string::npos);
        CHECK(cap::test::read_text(run / "manifest.json") == manifest_before);
    }
    auto resumed = cap::test::run_cap("run --resume " + run.string() +
                                      " --set constraints.on_violation=warn --plugin-path " + cap::test::kFixturesOk);
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(fs::exists(run / "summary.json"));
    CHECK(cap::test::read_text(run / "recipe.toml").find("on_violation = 'warn'") != std::string::npos);
    auto manifest = nlohmann::json::parse(cap::test::read_text(run / "manifest.json"));
    REQUIRE(manifest["resumed_with"].size() == 1);
    CHECK(manifest["resumed_with"][0]["set"] == nlohmann::json::array({"constraints.on_violation=warn"}));
    CHECK(manifest["recipe"]["constraints"]["on_violation"] == "stop");  // what the run started with
    auto stages = events(run, "stage");
    REQUIRE(stages.size() == 2);
    CHECK(stages[1]["layers_below_min_heads"].size() == 1);
}

TEST_CASE("pruning run: scores_learning_rate = 0 freezes the scores, as the reference reads it") {
    const fs::path run = unstructured_run(
        "frozen-scores", "[criterion]\nplugin = \"movement\"\nscores_learning_rate = 0.0\nmask_scale = 0.25\n", 0.1,
        1.0);
    auto scores = model::read_safetensors(run / "scores.safetensors");
    REQUIRE(scores.tensors.size() == 12);
    for (const auto& [name, s] : scores.tensors) {
        CAPTURE(name);
        CHECK(at::equal(s, at::full_like(s, 0.25f)));  // as initialised
    }
    CHECK(cap::test::read_text(run / "run.log").find("scores_learning_rate = 0, the scores stay as initialised") !=
          std::string::npos);
}

TEST_CASE("pruning run: wanda per weight at the stages of iterative, with PrC and SnC, keeps each row's best") {
    // min_heads_per_layer = 1 would refuse 90% of bert-tiny's 4 heads; it does not limit weights.
    const fs::path dir = cap::test::scratch_dir("wanda-per-weight");
    const fs::path recipe = cap::test::write_text(dir / "recipe.toml", R"(
[run]
name = "wanda-per-weight"
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 128
max_eval_examples = 64
[finetune]
epochs = 1
batch_size = 32
[constraints]
min_heads_per_layer = 1
[criterion]
plugin = "wanda"
granularity = "unstructured"
[schedule]
plugin = "iterative"
percents = [50, 90]
retrain_epochs = 0.5
[contrastive.prc]
[contrastive.snc]
[prune]
batch_size = 32
importance_batch_size = 64
)");
    const fs::path run = dir / "run";
    auto result = cap::test::run_cap("run " + recipe.string() + " --out " + run.string());
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("importance pass: criterion/wanda sees weights (views, no copy), input norms") !=
          std::string::npos);

    // Each output row pruned int(in * 0.9) of its weights (Wanda's per-row comparison), and the
    // export holds zeros there.
    auto masks = model::read_safetensors(run / "masks.safetensors");
    REQUIRE(masks.tensors.size() == 12);
    auto exported = model::load_pretrained(run / "final", model::TaskHead::kClassification);
    std::map<std::string, at::Tensor> weights;
    for (auto& p : exported.model->named_parameters()) weights[p.key()] = p.value();
    for (const auto& [name, mask] : masks.tensors) {
        CAPTURE(name);
        const int64_t in = mask.size(1);
        const int64_t kept = in - static_cast<int64_t>(double(in) * 0.9);
        CHECK(at::equal(mask.sum(1).to(at::kLong), at::full({mask.size(0)}, kept, at::kLong)));
        REQUIRE(weights.count(name));
        CHECK(weights[name].masked_select(mask == 0).abs().max().item<float>() == 0.0f);
    }
    CHECK_FALSE(fs::exists(run / "scores.safetensors"));  // nothing learned
    CHECK(fs::exists(run / "remaining_weights.csv"));

    // Two stages with their kept fractions; banks for PrC (stage 0) and SnC (stage 1).
    auto stages = events(run, "stage");
    REQUIRE(stages.size() == 2);
    CHECK(stages[0]["weights_kept"].get<double>() == doctest::Approx(0.5));
    CHECK(stages[1]["weights_kept"].get<double>() == doctest::Approx(0.1).epsilon(0.05));
    CHECK(stages[1]["bank_bytes"]["snc"].get<int64_t>() > 0);
    auto final_event = events(run, "final");
    REQUIRE(final_event.size() == 1);
    CHECK(final_event[0]["masked_weights_kept"].get<int64_t>() == [&] {
        int64_t k = 0;
        for (const auto& [_, m] : masks.tensors) k += m.sum().item<int64_t>();
        return k;
    }());
}

TEST_CASE("pruning run: a per-weight criterion that breaks the host's rules stops the run naming the linear") {
    struct Case {
        const char* misbehave;
        const char* says;
    };
    const Case cases[] = {
        {"nan",
         "stage-00: criterion/fixture gave a non-finite importance to bert.encoder.layer.0.attention.self.key "
         "(first: row 2, column 3)"},
        {"extra", "stage-00: criterion/fixture kept "},
        {"revive",
         "stage-01: criterion/fixture brought a pruned weight of bert.encoder.layer.0.attention.self.query "
         "back (row "},
    };
    for (const auto& c : cases) {
        CAPTURE(c.misbehave);
        const auto ran =
            fixture_criterion_run(std::string("misbehaving-per-weight-") + c.misbehave,
                                  std::string("granularity = \"unstructured\"\nmisbehave = \"") + c.misbehave + "\"");
        const fs::path& run = ran.first;
        const auto& result = ran.second;
        INFO(result.output);
        CHECK(result.exit_code == 1);
        CHECK(result.output.find(c.says) != std::string::npos);
        if (std::string(c.misbehave) == "extra")
            CHECK(result.output.find("weights; the schedule planned ") != std::string::npos);
        CHECK(fs::exists(run / "teacher" / "model.safetensors"));
        CHECK_FALSE(fs::exists(run / "final"));
        CHECK_FALSE(fs::exists(run / "masks.safetensors"));
    }
}

TEST_CASE("pruning run: a plugin that crashes the process is named, with the call, on stderr and in run.log") {
    const auto ran = fixture_criterion_run("crashing-plugin", "misbehave = \"crash\"");
    const fs::path& run = ran.first;
    const auto& result = ran.second;
    INFO(result.output);
    CHECK(result.exit_code == 128 + SIGSEGV);  // it still dies with the signal
    const std::string line =
        "cap: SIGSEGV (invalid memory access) inside criterion/fixture: select, a call into that plugin; the "
        "process dies with the signal";
    CHECK(result.output.find(line) != std::string::npos);
    CHECK(cap::test::read_text(run / "run.log").find("crash " + line) != std::string::npos);
    CHECK_FALSE(fs::exists(run / "final"));
}

TEST_CASE("pruning run: a score-based criterion whose masks are not 0/1 or scores not finite stops the run") {
    struct Case {
        const char* misbehave;
        const char* says;
    };
    const Case cases[] = {
        {"half_masks",
         "criterion/fixture_topk before the first step: binarize returned a mask of "
         "bert.encoder.layer.0.attention.self.key with values other than 0 and 1 (first: row 1, column 2)"},
        {"nan_scores",
         "criterion/fixture_topk before the first step: the scores of bert.encoder.layer.0.attention.self.query are "
         "not finite (first: row 0, column 1)"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.misbehave);
        const auto ran =
            tiny_fixture_run(std::string("misbehaving-scores-") + c.misbehave,
                             std::string("[criterion]\nplugin = \"fixture_topk\"\nmisbehave = \"") + c.misbehave +
                                 "\"\n[schedule]\nplugin = \"cubic\"\nfinal_threshold = 0.5\n"
                                 "warmup_steps = 1\n[prune]\nepochs = 1\nbatch_size = 32\n");
        const fs::path& run = ran.first;
        const auto& result = ran.second;
        INFO(result.output);
        CHECK(result.exit_code == 1);
        CHECK(result.output.find(c.says) != std::string::npos);
        CHECK_FALSE(fs::exists(run / "final"));
        CHECK_FALSE(fs::exists(run / "masks.safetensors"));
    }
}
