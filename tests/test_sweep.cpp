// `cap sweep`: expanding axes into runs, names, conflicts with --set, resuming a killed sweep,
// and the Slurm job-array script.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <map>
#include <thread>

#include "recipe/node.hpp"
#include "report/run_results.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "sweep/cell_state.hpp"
#include "sweep/expand.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using cap::test::run_cap;
using cap::test::write_text;

namespace {

// A quickstart-sized run, cut down to a few seconds: the teacher trains one epoch on 300
// synthetic examples and CAP-f prunes in two stages.
std::string quick_base() {
    return "include = \"" + std::string(cap::test::kSourceDir) +
           "/configs/quickstart.toml\"\n"
           "[task]\nmax_train_examples = 300\nmax_eval_examples = 100\n[finetune]\nepochs = 1\n";
}

// seed x method: the first axis over one key, the second of named variants.
const char* kTwoAxes = R"(
[sweep]
name = "demo"
[[sweep.axis]]
key = "run.seed"
values = [1, 2]
[[sweep.axis]]
name = "method"
variants = [
  { label = "capf", set = { "run.method" = "CAP-f" } },
  { label = "plain", set = { "run.method" = "first-order" }, unset = ["contrastive"] },
]
)";

fs::path sweep_file(const std::string& test, const std::string& sweep_text) {
    return write_text(cap::test::scratch_dir(test) / "sweep.toml", quick_base() + sweep_text);
}

std::string errors_of(const fs::path& file, const cap::recipe::Overrides& o = {}) {
    try {
        cap::sweep::expand_sweep(file, o);
    } catch (const cap::recipe::RecipeErrors& e) {
        std::string all;
        for (const auto& d : e.diagnostics()) all += d.str() + "\n";
        return all;
    }
    return "";
}

const cap::recipe::Node* value_at(const cap::recipe::Node& root, const std::string& dotted) {
    const cap::recipe::Node* n = &root;
    for (const auto& k : cap::recipe::split_key_path(dotted)) {
        n = n->find(k);
        if (!n) return nullptr;
    }
    return n;
}

}  // namespace

TEST_CASE("sweep: axes expand into every combination, first axis slowest, with readable names") {
    auto e = cap::sweep::expand_sweep(sweep_file("sweep_expand", kTwoAxes), {});
    REQUIRE(e.cells.size() == 4);
    CHECK(e.spec.name == "demo");
    const std::vector<std::string> names = {"1-capf", "1-plain", "2-capf", "2-plain"};
    for (size_t i = 0; i < 4; ++i) {
        CHECK(e.cells[i].index == i);
        CHECK(e.cells[i].name == names[i]);
        const auto& root = e.cells[i].recipe.root;
        CHECK(value_at(root, "run.seed")->integer == (i < 2 ? 1 : 2));
        CHECK(value_at(root, "run.name")->string == names[i]);  // the run is named after its cell
        CHECK(value_at(root, "run.method")->string == (i % 2 == 0 ? "CAP-f" : "first-order"));
        CHECK((value_at(root, "contrastive") != nullptr) == (i % 2 == 0));  // "plain" unsets the modules
        CHECK(value_at(root, "sweep") == nullptr);
        CHECK(value_at(root, "task.max_train_examples")->integer == 300);  // the sweep file's own keys stay
    }
    CHECK(e.cells[3].labels == std::vector<std::pair<std::string, std::string>>{{"seed", "2"}, {"method", "plain"}});
}

TEST_CASE("sweep: run_name templates, default labels of values, grids, and starting recipes") {
    const fs::path dir = cap::test::scratch_dir("sweep_templates");
    write_text(dir / "start-a.toml", quick_base() + "[run]\nname = \"from-a\"\n[prune]\nbatch_size = 8\n");
    write_text(dir / "start-b.toml", quick_base() + "[prune]\nbatch_size = 16\n");
    const fs::path file = write_text(dir / "sweep.toml", R"(
[sweep]
name = "templated"
run_name = "{start}-lr{lr}"
[[sweep.grid]]
set = { "prune.weight_decay" = 0.5 }
[[sweep.grid.axis]]
name = "start"
variants = [{ label = "a", recipe = "start-{start}.toml" }, { label = "b", recipe = "start-{start}.toml" }]
[[sweep.grid.axis]]
key = "prune.learning_rate"
name = "lr"
values = [0.001, 0.0002]
[[sweep.grid]]
[[sweep.grid.axis]]
name = "start"
variants = [{ label = "c", recipe = "start-a.toml" }]
[[sweep.grid.axis]]
name = "lr"
key = "prune.learning_rate"
values = [0.5]
[prune]
warmup_ratio = 0.25
)");
    auto e = cap::sweep::expand_sweep(file, {});
    REQUIRE(e.cells.size() == 5);
    CHECK(e.cells[0].name == "a-lr0.001");
    CHECK(e.cells[1].name == "a-lr0.0002");
    CHECK(e.cells[2].name == "b-lr0.001");
    CHECK(e.cells[4].name == "c-lr0.5");
    const auto& a = e.cells[0].recipe.root;
    CHECK(value_at(a, "prune.batch_size")->integer == 8);        // from start-a.toml
    CHECK(value_at(a, "prune.warmup_ratio")->floating == 0.25);  // the sweep file's keys win over it
    CHECK(value_at(a, "prune.weight_decay")->floating == 0.5);   // the first grid's own set
    CHECK(value_at(a, "run.name")->string == "a-lr0.001");
    CHECK(value_at(e.cells[2].recipe.root, "prune.batch_size")->integer == 16);
    CHECK(value_at(e.cells[4].recipe.root, "prune.weight_decay")->floating == 0.01);  // the second grid sets none
    CHECK(fs::path(e.cells[2].start_recipe).filename() == "start-b.toml");
}

TEST_CASE("sweep: an override of a key an axis varies is an error naming the axis") {
    const fs::path file = sweep_file("sweep_conflicts", kTwoAxes);
    cap::recipe::Overrides o;
    o.sets = {"run.seed=5", "prune.batch_size=8"};
    std::string err = errors_of(file, o);
    CHECK(err.find("--set run.seed=5") != std::string::npos);
    CHECK(err.find("axis 'seed'") != std::string::npos);
    CHECK(err.find("prune.batch_size") == std::string::npos);  // a key no axis touches is fine

    cap::recipe::Overrides parent;
    parent.unsets = {"contrastive.prc"};  // inside what the "method" axis unsets
    err = errors_of(file, parent);
    CHECK(err.find("axis 'method'") != std::string::npos);

    cap::recipe::Overrides whole_run;
    whole_run.sets = {"run={ seed = 3 }"};  // a table above the axis's key
    CHECK(errors_of(file, whole_run).find("axis 'seed'") != std::string::npos);

    // Through the command line: exit 2 and nothing written.
    const fs::path out = cap::test::scratch_dir("sweep_conflicts_cli") / "out";
    auto r = run_cap("sweep " + file.string() + " --out " + out.string() + " --set run.seed=5");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("axis 'seed'") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
}

TEST_CASE("sweep: malformed sweeps are errors at file:line") {
    auto check = [](const std::string& name, const std::string& text, const std::string& expected) {
        const std::string err = errors_of(sweep_file(name, text));
        INFO(err);
        CHECK(err.find(expected) != std::string::npos);
        CHECK(err.find("sweep.toml:") != std::string::npos);
    };
    check("sweep_bad_names",
          "[sweep]\nrun_name = \"{seed}\"\n[[sweep.axis]]\nkey = \"run.seed\"\nvalues = [1, 2]\n"
          "[[sweep.axis]]\nkey = \"prune.batch_size\"\nvalues = [8, 16]\n",
          "two runs are named '1'");
    check("sweep_bad_placeholder", "[sweep]\nrun_name = \"{sed}\"\n[[sweep.axis]]\nkey = \"run.seed\"\nvalues = [1]\n",
          "did you mean");
    check("sweep_two_axes_one_key",
          "[sweep]\n[[sweep.axis]]\nkey = \"run.seed\"\nvalues = [1]\n[[sweep.axis]]\nname = \"m\"\n"
          "variants = [{ label = \"x\", set = { run = { seed = 4 } } }]\n",
          "both edit 'run.seed'");
    check("sweep_no_label", "[sweep]\n[[sweep.axis]]\nname = \"m\"\nvariants = [{ set = { \"run.seed\" = 4 } }]\n",
          "needs a 'label'");
    check("sweep_bad_label", "[sweep]\n[[sweep.axis]]\nkey = \"run.seed\"\nvalues = [1]\nlabels = [\"a b\"]\n",
          "names folders");
    check("sweep_no_axis", "[sweep]\nname = \"x\"\n", "declares no axis");
    check("sweep_empty_axes", "[sweep]\naxis = []\n", "declares no axis");
    check("sweep_slash_name", "[sweep]\nrun_name = \"{seed}/x\"\n[[sweep.axis]]\nkey = \"run.seed\"\nvalues = [1]\n",
          "run name '1/x' (from run_name) names a folder");
    check("sweep_typo", "[sweep]\naxes = []\n", "unknown key 'axes'");
    check("sweep_two_starts",
          "[sweep]\n[[sweep.axis]]\nname = \"a\"\nvariants = [{ label = \"x\", recipe = \"x.toml\" }]\n"
          "[[sweep.axis]]\nname = \"b\"\nvariants = [{ label = \"y\", recipe = \"y.toml\" }]\n",
          "two recipes");
    CHECK(errors_of(write_text(cap::test::scratch_dir("sweep_plain") / "plain.toml", quick_base()))
              .find("declares no [sweep]") != std::string::npos);

    // `cap run` on a sweep points to `cap sweep`.
    auto r = run_cap("validate " + sweep_file("sweep_run_refuses", kTwoAxes).string());
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("declares a sweep: run it with `cap sweep`") != std::string::npos);
}

TEST_CASE("sweep: --dry-run lists every run and writes nothing") {
    const fs::path out = cap::test::scratch_dir("sweep_dry") / "out";
    auto r = run_cap("sweep " + sweep_file("sweep_dry_recipe", kTwoAxes).string() + " --dry-run --out " + out.string());
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("sweep 'demo': 4 runs") != std::string::npos);
    for (const char* name : {"1-capf", "1-plain", "2-capf", "2-plain"}) CHECK(r.output.find(name) != std::string::npos);
    CHECK(r.output.find("to run") != std::string::npos);
    CHECK_FALSE(fs::exists(out));

    // --cell takes an index first (what Slurm passes), then a name: with runs named "1", "2",
    // "3", array task 1 is the second run, never the one named "1".
    const fs::path digits =
        sweep_file("sweep_dry_digits", "[sweep]\n[[sweep.axis]]\nkey = \"run.seed\"\nvalues = [1, 2, 3]\n");
    auto one = run_cap("sweep " + digits.string() + " --dry-run --cell 1 --out " + out.string());
    INFO(one.output);
    CHECK(one.output.find("seed=2") != std::string::npos);
    CHECK(one.output.find("seed=1") == std::string::npos);
    CHECK(run_cap("sweep " + digits.string() + " --dry-run --cell 7 --out " + out.string()).exit_code == 2);

    // A folder in the way of one run (not a run of this sweep): counted among the runs that would
    // not start, and the dry run says so by its exit status (what `cap sweep` would do: refuse).
    const fs::path taken = cap::test::scratch_dir("sweep_dry_conflict") / "out";
    write_text(taken / "1-plain" / "notes.txt", "mine");
    auto conflict =
        run_cap("sweep " + sweep_file("sweep_dry_recipe", kTwoAxes).string() + " --dry-run --out " + taken.string());
    INFO(conflict.output);
    CHECK(conflict.exit_code == 2);
    CHECK(conflict.output.find("conflict") != std::string::npos);
    CHECK(conflict.output.find("1 of 4 runs would not start") != std::string::npos);
    CHECK(fs::exists(taken / "1-plain" / "notes.txt"));
    CHECK_FALSE(fs::exists(taken / "sweep.json"));
}

TEST_CASE("sweep: a run folder holding only a temporary file (killed mid-write) is run again") {
    const fs::path dir = cap::test::scratch_dir("sweep_leftovers") / "run";
    CHECK((cap::sweep::cell_status(dir, "x").state == cap::sweep::CellState::ToRun));
    write_text(dir / "recipe.toml.tmp-Ab12Cd", "[run]\n");
    CHECK((cap::sweep::cell_status(dir, "x").state == cap::sweep::CellState::ToRun));
    write_text(dir / "notes.txt", "mine");
    CHECK((cap::sweep::cell_status(dir, "x").state == cap::sweep::CellState::Foreign));
}

TEST_CASE("sweep: a run is done by the report's rule only: manifest and summary both there and readable") {
    using cap::sweep::CellState;
    const fs::path root = cap::test::scratch_dir("sweep_done_rule");
    const std::string recipe = "[run]\nname = \"x\"\n";
    auto run = [&](const std::string& name, const char* manifest, const char* summary) {
        const fs::path dir = root / name;
        write_text(dir / "recipe.toml", recipe);
        if (manifest) write_text(dir / "manifest.json", manifest);
        if (summary) write_text(dir / "summary.json", summary);
        return dir;
    };
    const fs::path done = run("done", "{}", "{\"task\": \"sst2\"}");
    CHECK((cap::sweep::cell_status(done, recipe).state == CellState::Done));
    CHECK((cap::report::run_completion(done).state == cap::report::RunCompletion::Finished));
    CHECK((cap::sweep::cell_status(run("killed", "{}", nullptr), recipe).state == CellState::Partial));

    const fs::path garbage = run("garbage", "{}", "{\"task\": ");
    const auto g = cap::sweep::cell_status(garbage, recipe);
    CHECK((g.state == CellState::Foreign));
    CHECK(g.detail.rfind((garbage / "summary.json").string() + ": not valid JSON (", 0) == 0);
    CHECK(g.detail.find("move the folder away to run it again") != std::string::npos);
    const fs::path no_manifest = run("no-manifest", nullptr, "{}");
    CHECK(cap::sweep::cell_status(no_manifest, recipe).detail ==
          (no_manifest / "manifest.json").string() +
              " is missing beside summary.json: the run's result is damaged; move the folder away to run it again");
    const auto a = cap::sweep::cell_status(run("array", "[1]", "{}"), recipe);
    CHECK((a.state == CellState::Foreign));
    CHECK(a.detail.find("manifest.json: not a JSON object") != std::string::npos);
}

TEST_CASE("sweep: a killed sweep resumes: finished runs are skipped, the interrupted one continues") {
    const fs::path file = sweep_file("sweep_resume_recipe", R"(
[sweep]
name = "resume"
[[sweep.axis]]
key = "run.seed"
values = [1, 2, 3]
)");
    const fs::path out = cap::test::scratch_dir("sweep_resume") / "out";
    const fs::path pid_file = out.parent_path() / "pid";
    // In the background; killed (SIGKILL: no clean-up) once run 1 has finished and run 2 started.
    auto started = cap::test::run_command(
        "sh -c '" + std::string(cap::test::kCapExe) + " sweep " + file.string() + " --out " + out.string() + " > " +
        (out.parent_path() / "first.log").string() + " 2>&1 & echo $! > " + pid_file.string() + "'");
    REQUIRE(started.exit_code == 0);
    const int pid = std::stoi(cap::test::read_text(pid_file));
    bool caught = false;
    for (int i = 0; i < 2400 && !caught; ++i) {  // up to 2 minutes
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        caught = fs::exists(out / "1" / "summary.json") && fs::exists(out / "2" / "recipe.toml") &&
                 !fs::exists(out / "2" / "summary.json");
    }
    ::kill(pid, SIGKILL);
    INFO(cap::test::read_text(out.parent_path() / "first.log"));
    REQUIRE(caught);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_FALSE(fs::exists(out / "3"));
    const std::string first_metrics = cap::test::read_text(out / "1" / "metrics.jsonl");

    auto dry = run_cap("sweep " + file.string() + " --out " + out.string() + " --dry-run");
    CHECK(dry.output.find("done") != std::string::npos);
    CHECK(dry.output.find("partial") != std::string::npos);

    auto r = run_cap("sweep " + file.string() + " --out " + out.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("run 1 of 3 '1' is done: skipped") != std::string::npos);
    CHECK(r.output.find("'2' (seed=2): resuming") != std::string::npos);
    CHECK(cap::test::read_text(out / "1" / "metrics.jsonl") == first_metrics);  // untouched
    CHECK(cap::test::read_text(out / "2" / "metrics.jsonl").find("\"event\":\"resume\"") != std::string::npos);
    for (const char* run : {"1", "2", "3"}) CHECK(fs::exists(out / run / "summary.json"));
    auto status = nlohmann::json::parse(cap::test::read_text(out / "sweep.json"));
    REQUIRE(status["runs"].size() == 3);
    for (const auto& run : status["runs"]) CHECK(run["status"] == "done");

    // The report of a sweep folder: every run, one block per level reached (no layout here).
    auto report = run_cap("report " + out.string() + " --out " + (out.parent_path() / "report").string());
    INFO(report.output);
    CHECK(report.exit_code == 0);
    const std::string md = cap::test::read_text(out.parent_path() / "report" / "table.md");
    CHECK(md.find("first_order+prc+snc+fic+kd") != std::string::npos);  // the quickstart names no method
    CHECK(md.find(" (n = 3) |") != std::string::npos);                  // three seeds, one cell: mean ± std

    // A third time: nothing to do.
    auto again = run_cap("sweep " + file.string() + " --out " + out.string());
    CHECK(again.exit_code == 0);
    CHECK(again.output.find("(0 ran now)") != std::string::npos);

    // A changed recipe does not silently reuse (or overwrite) the runs made from the old one.
    write_text(file, cap::test::read_text(file) + "\n[prune]\nbatch_size = 8\n");
    auto changed = run_cap("sweep " + file.string() + " --out " + out.string());
    CHECK(changed.exit_code == 2);
    CHECK(changed.output.find("differs from what the sweep now gives this run") != std::string::npos);
}

TEST_CASE("sweep: --emit slurm writes a job array whose tasks each run one cell") {
    const fs::path file = sweep_file("sweep_slurm_recipe", std::string(kTwoAxes) + R"(
[sweep.slurm]
partition = "gpu-long"
account = "nlp"
gres = "gpu:a100:1"
cpus_per_task = 6
mem = "48G"
time = "12:00:00"
max_parallel = 2
setup = ["export OMP_NUM_THREADS=2"]
sbatch = ["--constraint=a100"]
)");
    const fs::path out = cap::test::scratch_dir("sweep_slurm") / "out";
    auto r = run_cap("sweep " + file.string() + " --emit slurm --out " + out.string() + " --set prune.batch_size=16");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string script = cap::test::read_text(out / "sweep.sbatch");
    INFO(script);
    const std::string cd_line = "\ncd '" + fs::current_path().string() + "'\nset +e\n'";
    for (const std::string& line : std::vector<std::string>{
             "#!/bin/bash\n", "#SBATCH --job-name=demo\n", "#SBATCH --array=0-3%2\n", "#SBATCH --partition=gpu-long\n",
             "#SBATCH --account=nlp\n", "#SBATCH --gres=gpu:a100:1\n", "#SBATCH --cpus-per-task=6\n",
             "#SBATCH --mem=48G\n", "#SBATCH --time=12:00:00\n", "#SBATCH --constraint=a100\n",
             "export OMP_NUM_THREADS=2\n", "    '2-capf'\n", "--set 'prune.batch_size=16'",
             "--cell \"${cells[$SLURM_ARRAY_TASK_ID]}\" --cell-recipe \"${recipes[$SLURM_ARRAY_TASK_ID]}\"", cd_line,
             "#SBATCH --requeue\n", "#SBATCH --open-mode=append\n", "#SBATCH --signal=B:USR1@300\n"})
        CHECK(script.find(line) != std::string::npos);
    // Set-up lines run before the strict mode (module scripts read unset variables).
    CHECK(script.find("export OMP_NUM_THREADS=2\n") < script.find("set -euo pipefail\n"));
    CHECK(script.find("#SBATCH --output=" + fs::absolute(out).lexically_normal().string() + "/slurm/%A_%a.out") !=
          std::string::npos);
    CHECK(script.find("sweep '" + fs::absolute(file).lexically_normal().string() + "'") != std::string::npos);
    CHECK(fs::is_directory(out / "slurm"));
    CHECK_FALSE(fs::exists(out / "1-capf"));  // emitting runs nothing

    // What one array task does: run exactly its cell (here index 2), as Slurm would start it.
    auto task = cap::test::run_command("SLURM_ARRAY_TASK_ID=2 bash " + (out / "sweep.sbatch").string() + " 2>&1");
    INFO(task.output);
    CHECK(task.exit_code == 0);
    CHECK(fs::exists(out / "2-capf" / "summary.json"));
    CHECK_FALSE(fs::exists(out / "1-capf"));
    auto manifest = nlohmann::json::parse(cap::test::read_text(out / "2-capf" / "manifest.json"));
    CHECK(manifest["resolved"]["prune"]["batch_size"] == 16);  // the --set reached the task
    CHECK(manifest["seed"] == 2);

    // A task stopped by a signal: cap checkpoints and exits 75, and the task requeues itself
    // (scontrol here is a stand-in that records its arguments). Run again, it finishes the cell.
    const fs::path bin = cap::test::scratch_dir("sweep_slurm_bin");
    cap::test::write_text(bin / "scontrol", "#!/bin/sh\necho \"$@\" > " + (bin / "scontrol.args").string() + "\n");
    fs::permissions(bin / "scontrol", fs::perms::owner_all);
    const std::string env = "PATH=" + bin.string() + ":$PATH SLURM_ARRAY_JOB_ID=77 SLURM_ARRAY_TASK_ID=1 ";
    auto stopped = cap::test::run_command("CAP_FAULT=finetune.step:1:TERM " + env + "bash " +
                                          (out / "sweep.sbatch").string() + " 2>&1");
    INFO(stopped.output);
    CHECK(stopped.exit_code == 75);
    CHECK(cap::test::read_text(bin / "scontrol.args") == "requeue 77_1\n");
    CHECK_FALSE(fs::exists(out / "1-plain" / "summary.json"));
    auto again = cap::test::run_command(env + "bash " + (out / "sweep.sbatch").string() + " 2>&1");
    INFO(again.output);
    CHECK(again.exit_code == 0);
    CHECK(fs::exists(out / "1-plain" / "summary.json"));
    // Each task recorded its own run in sweep.json; the runs no task ran keep "to run".
    auto sweep_json = nlohmann::json::parse(cap::test::read_text(out / "sweep.json"));
    std::map<std::string, std::string> status;
    for (const auto& run : sweep_json["runs"]) status[run["name"]] = run.value("status", "");
    CHECK(status == std::map<std::string, std::string>{
                        {"1-capf", "to run"}, {"1-plain", "done"}, {"2-capf", "done"}, {"2-plain", "to run"}});

    // The recipe changed after emitting: a task refuses its cell (exit 2) and writes nothing.
    std::string text = cap::test::read_text(file);
    text.replace(text.find("max_eval_examples = 100"), 23, "max_eval_examples = 90");
    cap::test::write_text(file, text);
    auto changed = cap::test::run_command("SLURM_ARRAY_TASK_ID=3 bash " + (out / "sweep.sbatch").string() + " 2>&1");
    INFO(changed.output);
    CHECK(changed.exit_code == 2);
    CHECK(changed.output.find("run '2-plain': its recipe changed since the script was emitted") != std::string::npos);
    CHECK_FALSE(fs::exists(out / "2-plain"));
}

TEST_CASE("sweep: --emit slurm asks for a GPU only when a run may use one, unless gres says otherwise") {
    auto script_of = [](const std::string& test, const std::string& extra) {
        const fs::path file = sweep_file(test, std::string(kTwoAxes) + extra);
        const fs::path out = cap::test::scratch_dir(test + "_out") / "out";
        auto r = run_cap("sweep " + file.string() + " --emit slurm --out " + out.string());
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        return cap::test::read_text(out / "sweep.sbatch");
    };
    // Every run on the cpu backend: no --gres, which a CPU partition would refuse.
    CHECK(script_of("slurm_cpu", "[backend]\nplugin = \"cpu\"\n").find("--gres") == std::string::npos);
    // "auto" may pick CUDA: one GPU, as before.
    CHECK(script_of("slurm_auto", "[backend]\nplugin = \"auto\"\n").find("#SBATCH --gres=gpu:1\n") !=
          std::string::npos);
    // gres = "" drops the request, whatever the backend.
    CHECK(script_of("slurm_none", "[backend]\nplugin = \"auto\"\n[sweep.slurm]\ngres = \"\"\n").find("--gres") ==
          std::string::npos);
    // stop_signal_seconds = 0: no signal before the time limit.
    CHECK(script_of("slurm_nosignal", "[sweep.slurm]\nstop_signal_seconds = 0\n").find("--signal") ==
          std::string::npos);
}

TEST_CASE("sweep: the paper's tables list every cell") {
    const std::string paper = std::string(cap::test::kSourceDir) + "/configs/paper/";
    const std::vector<std::pair<std::string, size_t>> tables = {{"main.toml", 47},
                                                                {"ablation-modules.toml", 15},
                                                                {"ablation-supervision.toml", 9},
                                                                {"ablation-pooling.toml", 6},
                                                                {"ablation-temperature.toml", 15},
                                                                {"ablation-distillation.toml", 12},
                                                                {"mini-sst2.toml", 42},
                                                                {"criteria.toml", 48},
                                                                {"minilm-cpu.toml", 36}};
    for (const auto& [file, count] : tables) {
        CAPTURE(file);
        auto e = cap::sweep::expand_sweep(paper + file, {});
        CHECK(e.cells.size() == count);
        auto r = run_cap("sweep " + paper + file + " --dry-run --out " +
                         (cap::test::scratch_dir("sweep_paper_dry") / "out").string());
        CHECK(r.exit_code == (r.output.find("would not start") != std::string::npos ? 2 : 0));
        for (const auto& c : e.cells) CHECK(r.output.find(c.name) != std::string::npos);
    }
    auto main = cap::sweep::expand_sweep(paper + "main.toml", {});
    std::vector<std::string> names;
    for (const auto& c : main.cells) names.push_back(c.name);
    for (const char* expected : {"cap-f-mnli", "cap-f-sst2", "cap-m-qqp-50", "cap-m-squad-3", "cap-soft-mnli-10",
                                 "magnitude-qqp-3", "soft-movement-sst2-10", "movement-sst2-3"})
        CHECK(std::find(names.begin(), names.end(), expected) != names.end());
}

TEST_CASE("sweep: every run of the CPU mini table validates against the shared data") {
    // The recipes name the shared folder by a path relative to the repository (../shared).
    const fs::path shared = fs::path(cap::test::kSourceDir).parent_path() / "shared";
    std::optional<fs::path> beside;
    if (fs::exists(shared / "models" / "bert-tiny-mlm") && fs::exists(shared / "data" / "glue" / "SST-2"))
        beside = shared;
    CAP_REQUIRE_SHARED(beside, "../shared beside the repository (models/bert-tiny-mlm, data/glue/SST-2)");
    const fs::path out = cap::test::scratch_dir("sweep_mini_dry") / "out";
    auto r = run_cap("sweep " + std::string(cap::test::kSourceDir) + "/configs/paper/mini-sst2.toml --dry-run --out " +
                     out.string());
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("invalid") == std::string::npos);
    CHECK(r.output.find("would not start") == std::string::npos);
}
