// Resume inside pruning: a CAP-f or CAP-m run killed (SIGKILL, no clean-up) at points chosen by
// step count (CAP_FAULT, util/fault_point.hpp) and resumed with `cap run --resume` ends with the
// same files, byte for byte, and the same metrics.jsonl events (timing fields aside, none twice)
// as an uninterrupted run; a stop signal checkpoints and exits 75; an unusable newest checkpoint
// is reported by name and the one before it used.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "support/process.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

// 320 examples in batches of 32: 10 steps an epoch; checkpoints every 4 steps inside epochs.
std::string recipe_text(const std::string& name, const std::string& pruning, const std::string& prune_keys) {
    return R"([run]
name = ")" +
           name + R"("
seed = 11
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 320
max_eval_examples = 64
[finetune]
epochs = 1
batch_size = 32
learning_rate = 5e-4
)" + pruning +
           R"(
[contrastive.prc]
extra_negatives = 32
[contrastive.snc]
extra_negatives = 32
[contrastive.fic]
extra_negatives = 32
[distill]
plugin = "kd"
[prune]
batch_size = 32
learning_rate = 5e-4
log_every = 3
checkpoint_every_steps = 4
keep_checkpoints = 2
)" + prune_keys;
}

// CAP-f: two stages of two epochs (run-wide steps 1-20 and 21-40).
const char* kCapf = R"([criterion]
plugin = "first_order"
protect_kept_heads_only = true
[schedule]
plugin = "iterative"
percents = [25, 50]
retrain_epochs = 2.0
)";

// CAP-m: three epochs of movement pruning (steps 1-30), an SnC snapshot at epochs 2 and 3.
const char* kCapm = R"([criterion]
plugin = "movement"
[schedule]
plugin = "cubic"
initial_threshold = 1.0
final_threshold = 0.2
warmup_steps = 3
initial_warmup = 1
final_warmup = 1
)";

// Taylor per weight at two stages of one epoch (steps 1-10 and 11-20).
const char* kPerWeight = R"([criterion]
plugin = "taylor"
granularity = "unstructured"
[schedule]
plugin = "iterative"
percents = [25, 50]
retrain_epochs = 1.0
)";

// metrics.jsonl's events without what differs between two identical runs (timings, the run's
// folder in "model").
std::vector<nlohmann::json> comparable_events(const fs::path& run) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(cap::test::read_text(run / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) {
        auto e = nlohmann::json::parse(line);
        for (const char* key : {"examples_per_second", "seconds", "model", "host_syncs_per_step"}) e.erase(key);
        out.push_back(e);
    }
    return out;
}

std::vector<std::string> result_files(bool structured) {
    if (structured)
        return {"final/model.safetensors", "final/config.json", "final-masked/model.safetensors", "masks.safetensors",
                "importance.safetensors"};
    return {"final/model.safetensors", "masks.safetensors", "scores.safetensors", "remaining_weights.csv"};
}

struct Fixture {
    fs::path dir, recipe, whole;
    bool structured;
    std::vector<std::string> files;  // compared byte for byte
};

Fixture uninterrupted(const std::string& name, const std::string& pruning, bool structured) {
    Fixture f{cap::test::scratch_dir(name), {}, {}, structured, result_files(structured)};
    f.recipe =
        cap::test::write_text(f.dir / "recipe.toml", recipe_text(name, pruning, structured ? "" : "epochs = 3\n"));
    f.whole = f.dir / "whole";
    auto result = cap::test::run_cap("run " + f.recipe.string() + " --out " + f.whole.string());
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    return f;
}

// Runs the recipe with CAP_FAULT=`fault` into a new folder; the process must die there.
fs::path killed_run(const Fixture& f, const std::string& fault, int expected_exit, const std::string& tag = "") {
    std::string folder = fault + tag;
    for (char& c : folder)
        if (c == ':') c = '-';
    const fs::path run = f.dir / folder;
    auto result = cap::test::run_command("CAP_FAULT=" + fault + " " + cap::test::kCapExe + " run " + f.recipe.string() +
                                         " --out " + run.string());
    INFO(result.output);
    REQUIRE(result.exit_code == expected_exit);
    REQUIRE_FALSE(fs::exists(run / "summary.json"));
    return run;
}

// Resumes `run` and checks it ends as the uninterrupted run did; returns the resume's output.
std::string resume_matches(const Fixture& f, const fs::path& run) {
    auto resumed = cap::test::run_cap("run --resume " + run.string());
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(resumed.output.find("starts again") == std::string::npos);
    for (const auto& file : f.files) {
        CAPTURE(file);
        CHECK(cap::test::read_text(run / file) == cap::test::read_text(f.whole / file));
    }
    const auto expected = comparable_events(f.whole), got = comparable_events(run);
    CHECK(got.size() == expected.size());
    for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
        CAPTURE(i);
        CHECK(got[i].dump() == expected[i].dump());
    }
    // The result is saved: the pruning checkpoints and the bank journal are gone.
    CHECK_FALSE(fs::exists(run / "checkpoints" / "banks"));
    for (const auto& e : fs::directory_iterator(run / "checkpoints")) {
        CAPTURE(e.path().string());
        CHECK(e.path().filename().string().rfind("finetune-", 0) == 0);
    }
    return resumed.output;
}

}  // namespace

TEST_CASE(
    "pruning resume: CAP-f killed at a selection, inside and at the end of a stage's epochs ends as if never stopped") {
    const Fixture f = uninterrupted("resume-capf", kCapf, true);
    // After stage 0's selection; inside stage 0's second epoch (newest checkpoint: step 12);
    // after stage 0's last epoch; after stage 1's selection; inside stage 1 (stage step 15).
    for (const char* fault : {"selected:0", "stage-00.step:13", "stage-00.epoch:2", "selected:1", "stage-01.step:35"}) {
        CAPTURE(fault);
        const fs::path run = killed_run(f, fault, 128 + 9);
        const std::string out = resume_matches(f, run);
        if (std::string(fault) == "stage-00.step:13")
            CHECK(out.find("stage-00: resuming inside epoch 2 after step 12") != std::string::npos);
        if (std::string(fault) == "selected:1") CHECK(out.find("stage-01: resuming from") != std::string::npos);
        if (std::string(fault) != "selected:0")
            CHECK(out.find("contrastive banks delivered again") != std::string::npos);
    }
}

TEST_CASE(
    "pruning resume: per-weight stages (taylor) killed at a selection and inside retraining end as if never stopped") {
    Fixture f = uninterrupted("resume-per-weight", kPerWeight, true);
    f.files = {"final/model.safetensors", "masks.safetensors", "remaining_weights.csv"};
    for (const char* fault : {"selected:1", "stage-01.step:15"}) {
        CAPTURE(fault);
        resume_matches(f, killed_run(f, fault, 128 + 9));
    }
}

TEST_CASE(
    "pruning resume: CAP-m killed inside an epoch, at an epoch's end and after a snapshot ends as if never stopped") {
    const Fixture f = uninterrupted("resume-capm", kCapm, false);
    for (const char* fault : {"prune.step:7", "prune.epoch:1", "prune.step:25"}) {
        CAPTURE(fault);
        const fs::path run = killed_run(f, fault, 128 + 9);
        const std::string out = resume_matches(f, run);
        if (std::string(fault) == "prune.step:25")
            CHECK(out.find("prune: resuming inside epoch 3 after step 24") != std::string::npos);
    }
}

TEST_CASE("pruning resume: SIGTERM finishes the step, checkpoints and exits 75, and the run resumes to the same end") {
    const Fixture f = uninterrupted("resume-sigterm", kCapm, false);
    const fs::path run = killed_run(f, "prune.step:13:TERM", 75);
    const std::string log = cap::test::read_text(run / "run.log");
    CHECK(log.find("prune: SIGTERM received: stopped after step 14 with checkpoint") != std::string::npos);
    CHECK(log.find("stopped by SIGTERM after its checkpoint") != std::string::npos);
    CHECK(fs::exists(run / "checkpoints" / "prune-e0001-b00000004" / "state.json"));
    resume_matches(f, run);
}

TEST_CASE("pruning resume: an unusable newest checkpoint is named and the one before it is used") {
    const Fixture f = uninterrupted("resume-corrupt", kCapm, false);
    struct Damage {
        const char* file;
        const char* contents;  // nullptr: delete the file
        const char* says;
    };
    for (const Damage d : {Damage{"state.json", "{\"stage\": ", "state.json is not valid JSON"},
                           Damage{"rng.pt", nullptr, "rng.pt is missing"}}) {
        CAPTURE(d.file);
        const fs::path run = killed_run(f, "prune.step:25", 128 + 9, std::string("-") + d.file);
        const fs::path newest = run / "checkpoints" / "prune-e0002-b00000004";
        REQUIRE(fs::exists(newest / "state.json"));
        if (d.contents)
            cap::test::write_text(newest / d.file, d.contents);
        else
            fs::remove(newest / d.file);
        const std::string out = resume_matches(f, run);
        CHECK(out.find("checkpoint " + newest.string() + " is unusable") != std::string::npos);
        CHECK(out.find(d.says) != std::string::npos);
        CHECK(out.find("prune: resuming after epoch 2 (step 20)") != std::string::npos);
    }
}
