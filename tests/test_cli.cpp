// The `cap` executable end to end: exit statuses, what it writes (and, on errors, does not).
#include <doctest/doctest.h>
#include <unistd.h>

#include <torch/version.h>
#include <nlohmann/json.hpp>

#include "recipe/loader.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "system/blas_probe.hpp"
#include "test_paths.hpp"
#include "train/metrics_log.hpp"
#include "util/atomic_file.hpp"
#include "util/run_lock.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;
using cap::test::run_cap;

namespace {
std::string quickstart() { return std::string(cap::test::kSourceDir) + "/configs/quickstart.toml"; }
}  // namespace

TEST_CASE("cli: run quickstart writes the manifest, the log and the schedule trace") {
    const fs::path out = cap::test::scratch_dir("cli_run") / "run";
    // A fifth of the examples: what is checked here does not depend on how many there are.
    auto r = run_cap("run " + quickstart() + " --out " + out.string() +
                     " --set run.seed=7 --set task.max_train_examples=800 --set task.max_eval_examples=200");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("finished") != std::string::npos);
    for (const char* f : {"manifest.json", "run.log", "schedule.json", "masks.safetensors", "final/config.json"})
        CHECK(fs::exists(out / f));
    for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().string().find(".tmp") == std::string::npos);

    auto m = nlohmann::json::parse(cap::test::read_text(out / "manifest.json"));
    CHECK(m["seed"] == 7);
    CHECK(m["overrides"]["set"][0] == "run.seed=7");
    CHECK(m["overrides"]["set"].size() == 3);
    CHECK(m["resolved"]["schedule"]["percents"] == std::vector<double>{25, 50});
    CHECK(m["libtorch_version"] == TORCH_VERSION);
    CHECK(m["threads"].get<int>() >= 1);
    REQUIRE(m["plugins"].size() == 7);  // backend, criterion, schedule, prc, snc, fic, kd
    for (const auto& p : m["plugins"]) {
        CHECK(p["abi"] == "1.3");
        CHECK(p["sha256"] == cap::util::sha256_file(p["path"].get<std::string>()));
    }
    CHECK(m["backend"]["blas"]["vendor"] != "reference");
    CHECK(m["backend"]["blas"]["vendor"] != "unknown");

    auto s = nlohmann::json::parse(cap::test::read_text(out / "schedule.json"));
    REQUIRE(s["stages"].size() == 2);
    CHECK(s["stages"][1]["heads_remaining"] == 2);
    CHECK(s["stages"][1]["ffn_remaining"] == 512);
    CHECK(cap::test::read_text(out / "run.log").find("stage  target") != std::string::npos);
}

TEST_CASE("cli: an invalid recipe exits with status 2 and writes nothing") {
    const fs::path dir = cap::test::scratch_dir("cli_invalid");
    auto recipe = cap::test::write_text(dir / "bad.toml", "[schedule]\nplugin = \"iterative\"\npercent = [10]\n");
    auto v = run_cap("validate " + recipe.string());
    CHECK(v.exit_code == 2);
    CHECK(v.output.find(recipe.string() + ":3:1: error: unknown key 'percent'") != std::string::npos);
    CHECK(v.output.find("did you mean 'percents'?") != std::string::npos);

    auto r = run_cap("run " + recipe.string() + " --out " + (dir / "out").string());
    CHECK(r.exit_code == 2);
    CHECK_FALSE(fs::exists(dir / "out"));

    auto s = run_cap("run " + quickstart() + " --out " + (dir / "out2").string() + " --set schedule.percents=oops");
    CHECK(s.exit_code == 2);
    CHECK(s.output.find("command line (--set schedule.percents=oops): error: percents must be an array") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out2"));
}

TEST_CASE("cli: run refuses a non-empty --out folder") {
    const fs::path dir = cap::test::scratch_dir("cli_out_exists");
    cap::test::write_text(dir / "keep.txt", "precious");
    auto r = run_cap("run " + quickstart() + " --out " + dir.string());
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("already exists and is not an empty folder") != std::string::npos);
    CHECK(cap::test::read_text(dir / "keep.txt") == "precious");
}

namespace {

// The recipes in configs/, each with whether it needs the shared models and data: a path into
// ../shared in it or in a file it includes, or a "# validate-with:" line naming stand-ins from
// the shared folder ($SHARED) for the BERT-base models and full data users bring.
struct ConfigRecipe {
    fs::path file;
    bool sweep = false;
    bool needs_shared = false;
    std::string stand_ins;  // the validate-with overrides, $SHARED not yet filled in
};

std::vector<ConfigRecipe> config_recipes() {
    std::vector<ConfigRecipe> out;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(cap::test::kSourceDir) / "configs")) {
        // Report layouts are not recipes (test_report loads them).
        if (e.path().extension() != ".toml" || e.path().string().find(".layout.toml") != std::string::npos) continue;
        ConfigRecipe r;
        r.file = e.path();
        const std::string text = cap::test::read_text(e.path());
        r.sweep = text.find("\n[sweep]\n") != std::string::npos;
        if (auto at = text.find("# validate-with:"); at != std::string::npos)
            r.stand_ins = text.substr(at + 16, text.find('\n', at) - at - 16);
        if (!r.sweep)
            for (const auto& source : cap::recipe::load_recipe(e.path()).sources)
                r.needs_shared = r.needs_shared || cap::test::read_text(source).find("shared/") != std::string::npos;
        r.needs_shared = r.needs_shared || !r.stand_ins.empty();
        out.push_back(r);
    }
    return out;
}

}  // namespace

TEST_CASE("cli: validate accepts the quickstart, every recipe that needs no shared data, and lists every sweep") {
    int validated = 0;
    for (const auto& r : config_recipes()) {
        CAPTURE(r.file.string());
        if (r.sweep) {  // sweeps expand into runs; --dry-run lists them whatever is missing here
            auto dry = run_cap("sweep " + r.file.string() + " --dry-run --out " +
                               (cap::test::scratch_dir("cli_validate_sweeps") / "out").string());
            INFO(dry.output);
            // Exit 2 exactly when some run would not start here (models or data missing).
            CHECK(dry.exit_code == (dry.output.find("would not start") != std::string::npos ? 2 : 0));
            CHECK(dry.output.find("sweep '") != std::string::npos);
            continue;
        }
        if (r.needs_shared) continue;
        auto v = run_cap("validate " + r.file.string());
        INFO(v.output);
        CHECK(v.exit_code == 0);
        ++validated;
    }
    CHECK(validated >= 1);  // the quickstart at least
}

TEST_CASE("cli: validate accepts every recipe that needs the shared models and data") {
    const auto data = cap::test::data_dir();
    CAP_REQUIRE_SHARED(data, "the shared models and data (and ../shared beside the clone)");
    const fs::path shared = data->parent_path();
    if (!fs::is_directory(fs::path(cap::test::kSourceDir) / ".." / "shared")) {
        MESSAGE("SKIP: the CPU recipes name ../shared beside the clone, which is absent");
        return;
    }
    int validated = 0;
    for (const auto& r : config_recipes()) {
        if (r.sweep || !r.needs_shared) continue;
        CAPTURE(r.file.string());
        std::string extra = r.stand_ins;
        for (size_t p; (p = extra.find("$SHARED")) != std::string::npos;) extra.replace(p, 7, shared.string());
        auto v = run_cap("validate " + r.file.string() + extra);
        INFO(v.output);
        CHECK(v.exit_code == 0);
        ++validated;
    }
    CHECK(validated > 10);
}

TEST_CASE("cli: plugins --json lists the built-in plugins with their options") {
    auto r = run_cap("plugins --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
    std::map<std::string, nlohmann::json> by_label;
    for (const auto& p : j["plugins"]) by_label[p["kind"].get<std::string>() + "/" + p["name"].get<std::string>()] = p;
    for (const char* label : {"backend/cpu", "backend/cuda", "schedule/iterative", "schedule/one_shot", "distill/kd"})
        CHECK(by_label.count(label) == 1);
    CHECK(by_label["backend/cpu"]["available"] == true);
    CHECK(by_label["backend/cuda"]["available"] == false);
    CHECK(by_label["backend/cuda"]["unavailable_reason"].get<std::string>().find("CUDA") != std::string::npos);
    CHECK(by_label["schedule/iterative"]["options"][0]["name"] == "percents");
    CHECK(by_label["schedule/iterative"]["options"][0]["default"].size() == 9);
    CHECK(j["rejected"].empty());
}

TEST_CASE("cli: plugins lists rejected libraries with the reason") {
    auto r = run_cap(std::string("plugins --plugin-path ") + cap::test::kFixturesBad);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("rejected (ABI version): plugin " + std::string(cap::test::kFixturesBad) +
                        "/fixture_wrong_major.so was built for cap ABI 2.") != std::string::npos);
    CHECK(r.output.find("backend/cpu") != std::string::npos);
}

TEST_CASE("cli: usage errors exit with status 2") {
    CHECK(run_cap("").exit_code == 2);
    CHECK(run_cap("frobnicate").exit_code == 2);
    CHECK(run_cap("run").exit_code == 2);
    CHECK(run_cap("--log-level loud plugins").exit_code == 2);
    auto missing = run_cap("validate /no/such/recipe.toml");
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("recipe not found: /no/such/recipe.toml") != std::string::npos);
    auto version = run_cap("--version");
    CHECK(version.exit_code == 0);
    CHECK(version.output.find("plugin ABI 1.3") != std::string::npos);
}

TEST_CASE("cli: cap warns at start-up when LibTorch uses the reference BLAS") {
    const fs::path reference = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
    if (!fs::exists(reference)) {
        MESSAGE("SKIP: Debian's reference BLAS (libblas3) is not installed, so it cannot be swapped in");
        return;
    }
    if (cap::sys::probe_blas().detail == "linked into LibTorch") {
        MESSAGE("SKIP: this LibTorch carries its own BLAS (MKL, as PyPI's wheels do); none can be swapped in");
        return;
    }
    // Put the reference libblas.so.3 first in the search path, as a machine without OpenBLAS has it.
    auto r = cap::test::run_command("LD_LIBRARY_PATH=" + reference.parent_path().string() + " " + cap::test::kCapExe +
                                    " plugins");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("LibTorch is using the reference BLAS") != std::string::npos);
    CHECK(r.output.find("apt-get install libopenblas0-pthread") != std::string::npos);
    auto normal = run_cap("plugins");
    CHECK(normal.output.find("reference BLAS") == std::string::npos);
}

TEST_CASE("cli: eval takes a task folder or one of its dev files") {
    auto models = cap::test::models_dir();
    auto data = cap::test::data_dir();
    CAP_REQUIRE_SHARED(models, "shared models");
    CAP_REQUIRE_SHARED(data, "shared data");
    const std::string model = " --model " + (*models / "bert-tiny-sst2").string();
    auto metrics = [](const cap::test::CommandResult& r) {
        return nlohmann::json::parse(r.output.substr(r.output.rfind("{\"model\"")));
    };
    auto folder = run_cap("eval" + model + " --task sst2 --data " + (*data / "glue" / "SST-2").string());
    auto file = run_cap("eval" + model + " --task sst2 --data " + (*data / "glue" / "SST-2" / "dev.tsv").string());
    INFO(folder.output);
    INFO(file.output);
    REQUIRE(folder.exit_code == 0);
    REQUIRE(file.exit_code == 0);
    CHECK(metrics(file)["accuracy"] == metrics(folder)["accuracy"]);

    // One of MNLI's two dev files is named as the task names it (the pre-trained model: its
    // classifier is new, which is all this needs).
    auto mnli = run_cap("eval --model " + (*models / "bert-tiny-mlm").string() + " --task mnli --data " +
                        (*data / "glue" / "MNLI" / "dev_mismatched.tsv").string());
    INFO(mnli.output);
    REQUIRE(mnli.exit_code == 0);
    CHECK(metrics(mnli).contains("mismatched_accuracy"));
    CHECK_FALSE(metrics(mnli).contains("matched_accuracy"));

    auto missing = run_cap("eval" + model + " --task sst2 --data /no/such/dev.tsv");
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("--data /no/such/dev.tsv: no such file or folder") != std::string::npos);
    auto none = run_cap("eval" + model + " --task sst2");
    CHECK(none.exit_code == 2);
    CHECK(none.output.find("--task sst2 needs --data") != std::string::npos);
}

TEST_CASE("cli: global options are accepted anywhere on the command line") {
    const fs::path dir = cap::test::scratch_dir("cli_global_options");
    const std::string fixtures = cap::test::kFixturesOk;
    // A recipe whose schedule exists only in the fixtures folder: it validates only when
    // --plugin-path really reached the command.
    const auto recipe = cap::test::write_text(
        dir / "r.toml",
        "[schedule]\nplugin = \"c_fixture\"\n[criterion]\nplugin = \"first_order\"\n[task]\nname = \"synthetic\"\n");
    for (const std::string& args : std::vector<std::string>{
             "--plugin-path " + fixtures + " validate " + recipe.string(),
             "validate --plugin-path " + fixtures + " " + recipe.string(),
             "validate " + recipe.string() + " --plugin-path " + fixtures,
             "validate --plugin-path=" + fixtures + " " + recipe.string() + " --log-level warn",
             "--log-level warn validate " + recipe.string() + " --plugin-path " + fixtures,
             "validate --log-level=warn --plugin-path " + fixtures + " --set run.seed=3 " + recipe.string()}) {
        CAPTURE(args);
        auto r = run_cap(args);
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find(": ok (") != std::string::npos);
    }
    // --log-level after the subcommand takes effect: warn hides the info lines.
    auto quiet = run_cap("plugins --plugin-path " + fixtures + " --log-level error");
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.output.find("schedule/c_fixture") != std::string::npos);
    auto unknown = run_cap("validate " + recipe.string());
    CHECK(unknown.exit_code == 2);
}

TEST_CASE("cli: one writer per run folder: a live lock refuses a second writer at once, naming its PID") {
    const fs::path dir = cap::test::scratch_dir("cli_run_lock");
    const fs::path run = dir / "run";
    fs::create_directories(run);
    const fs::path recipe = cap::test::write_text(dir / "tiny.toml", cap::test::tiny_recipe("locked"));
    const std::string holder = "is in use by cap (PID " + std::to_string(::getpid()) + ")";
    {
        const cap::util::RunLock held(run);  // this process plays the live run
        auto second = run_cap("run " + recipe.string() + " --out " + run.string());
        INFO(second.output);
        CHECK(second.exit_code == 2);
        CHECK(second.output.find("--out " + run.string() + " " + holder) != std::string::npos);
        fs::copy_file(recipe, run / "recipe.toml");
        auto resume = run_cap("run --resume " + run.string());
        INFO(resume.output);
        CHECK(resume.exit_code == 2);
        CHECK(resume.output.find("run folder " + run.string() + " " + holder) != std::string::npos);
        CHECK_FALSE(fs::exists(run / "run.log"));  // nothing written by the refused writers
        fs::remove(run / "recipe.toml");
    }
    // Released, as a killed holder's is: the lock file stays behind and the folder counts as empty.
    REQUIRE(fs::exists(run / cap::util::kRunLockFile));
    auto first = run_cap("run " + recipe.string() + " --out " + run.string());
    INFO(first.output);
    REQUIRE(first.exit_code == 0);

    // --resume on a finished run does nothing, after removing what a killed write left.
    const fs::path leftover = cap::test::write_text(run / "teacher" / "model.safetensors.tmp-Ab12Cd", "partial");
    const std::string log_before = cap::test::read_text(run / "run.log");
    auto again = run_cap("run --resume " + run.string());
    INFO(again.output);
    CHECK(again.exit_code == 0);
    CHECK(again.output.find("run " + run.string() + " is finished (summary.json is there): nothing to resume") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(leftover));
    CHECK(cap::test::read_text(run / "run.log") == log_before);
}

TEST_CASE("cli: a run folder deleted or replaced under a live run stops its next write, and is not recreated") {
    const fs::path run = cap::test::scratch_dir("cli_run_folder_gone") / "run";
    fs::create_directories(run);
    const cap::util::RunLock held(run);
    cap::train::MetricsLog log(run / "metrics.jsonl");
    log.write({{"event", "train"}});
    CHECK_NOTHROW(cap::util::write_file_atomic(run / "summary.json", "{}\n"));

    fs::remove_all(run);  // deleted while the run holds its lock
    const std::string says = "run folder " + run.string() + " was deleted or replaced while the run was writing to it";
    auto message = [](auto&& write) {
        try {
            write();
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message([&] { log.write({{"event", "eval"}}); }).find(says) != std::string::npos);
    CHECK(message([&] { cap::util::write_file_atomic(run / "summary.json", "{}\n"); }).find(says) != std::string::npos);
    CHECK_FALSE(fs::exists(run));
    // Replaced (another folder at the same path): the same.
    fs::create_directories(run);
    CHECK(message([&] { cap::util::write_file_atomic(run / "summary.json", "{}\n"); }).find(says) != std::string::npos);
    CHECK_FALSE(fs::exists(run / "summary.json"));
}
