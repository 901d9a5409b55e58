// `cap report` on fixture run folders: the table laid out by a layout file, published numbers
// and deltas, missing runs, and the plots with their series.
#include <doctest/doctest.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "model/safetensors.hpp"
#include "recipe/node.hpp"
#include "report/layout.hpp"
#include "report/pairs.hpp"
#include "report/report.hpp"
#include "report/run_results.hpp"
#include "support/process.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;
using cap::test::read_text;
using cap::test::write_text;

namespace {

struct FixtureRun {
    std::string name, method, task;
    bool structured = false;
    bool finished = true;
    std::vector<json> levels;  // stage events (structured) or the final event (unstructured)
    json teacher = json::object();
    int64_t seed = 42;
};

// Writes the files a real run leaves: manifest.json, metrics.jsonl, summary.json, and
// masks.safetensors (structured) or remaining_weights.csv (unstructured).
fs::path make_run(const fs::path& parent, const FixtureRun& f) {
    const fs::path dir = parent / f.name;
    json resolved = {{"run", {{"name", f.name}, {"method", f.method}, {"seed", f.seed}}},
                     {"task", {{"name", f.task}}},
                     {"criterion", {{"plugin", f.structured ? "first_order" : "movement"}}}};
    write_text(dir / "manifest.json", json{{"resolved", resolved}}.dump(2));
    std::string metrics;
    for (int step = 10; step <= 30; step += 10)
        metrics += json{{"event", "train"},
                        {"stage", "prune"},
                        {"step", step},
                        {"loss", 3.0 - step * 0.01},
                        {"ce", 0.7},
                        {"distill", 0.9},
                        {"prc.unsupervised", 0.8},
                        {"learning_rate", 1e-4},
                        {"examples_per_second", 500.0}}
                       .dump() +
                   "\n";
    write_text(dir / "metrics.jsonl", metrics);
    if (!f.finished) return dir;
    json summary = {{"task", f.task},
                    {"main_metric", f.task == "squad" ? "f1" : "accuracy"},
                    {"teacher", {{"model", "t"}, {"metrics", f.teacher}}}};
    if (f.structured) {
        summary["stages"] = f.levels;
        std::vector<std::pair<std::string, at::Tensor>> masks;
        for (size_t s = 0; s < f.levels.size(); ++s) {
            char prefix[32];
            std::snprintf(prefix, sizeof(prefix), "stage_%02zu.", s);
            auto heads = torch::ones({2, 4});
            heads[1].slice(0, 0, int64_t(s) + 1).fill_(0);  // layer 1 loses s + 1 heads
            auto ffn = torch::ones({2, 10});
            ffn[0].slice(0, 0, 3 * (int64_t(s) + 1)).fill_(0);
            masks.emplace_back(std::string(prefix) + "heads", heads);
            masks.emplace_back(std::string(prefix) + "ffn", ffn);
        }
        cap::model::write_safetensors(dir / "masks.safetensors", masks);
    } else {
        summary["training"] = json::object();
        summary["final"] = f.levels.at(0);
        write_text(dir / "remaining_weights.csv",
                   "layer,matrix,kept,total,remaining_percent\n0,attention.self.query,10,100,10.0000\n"
                   "0,output.dense,30,100,30.0000\n1,attention.self.query,5,100,5.0000\n1,output.dense,20,100,20.0000\n"
                   "0,all,40,200,20.0000\nall,encoder,75,400,18.7500\n");
    }
    write_text(dir / "summary.json", summary.dump(2));
    return dir;
}

json final_event(double remaining, double acc, double f1) {
    return {{"event", "final"}, {"remaining_weights", remaining},
            {"threshold", 0.1}, {"seconds", 9.0},
            {"accuracy", acc},  {"f1", f1}};
}

const char* kLayout = R"(
title = "Fixture table"
levels = [10, 3]

[[column]]
task = "qqp"
metrics = ["accuracy", "f1"]
header = "QQP acc/F1"

[[row]]
method = "BERT-base"
from = "teacher"

[[row]]
method = "movement"

[[row]]
method = "CAP-m"

[[published]]
method = "CAP-m"
task = "qqp"
level = 10
values = [91.6, 87.7]
source = "issue #1"

[[published]]
method = "BERT-base"
task = "qqp"
values = [91.4, 88.4]
source = "HF README"
)";

// Two finished unstructured runs at 10% (10.13% measured, as BERT-base reads), one unfinished
// run at 3%, and nothing for CAP-m at 3%.
fs::path qqp_runs(const std::string& test) {
    const fs::path runs = cap::test::scratch_dir(test) / "runs";
    const json teacher = {{"accuracy", 91.0}, {"f1", 88.0}};
    make_run(runs, {"cap-m-qqp-10", "CAP-m", "qqp", false, true, {final_event(10.13, 90.47, 87.16)}, teacher});
    make_run(runs, {"movement-qqp-10", "movement", "qqp", false, true, {final_event(10.13, 89.5, 86.0)}, teacher});
    make_run(runs, {"movement-qqp-3", "movement", "qqp", false, false, {}, teacher});
    return runs;
}

std::string svg_of(const fs::path& plots, const std::string& stem) { return read_text(plots / (stem + ".svg")); }

}  // namespace

TEST_CASE("report: the table by layout, with published numbers, deltas, unknown and missing cells") {
    const fs::path runs = qqp_runs("report_table");
    const fs::path layout = write_text(runs.parent_path() / "layout.toml", kLayout);
    const fs::path out = runs.parent_path() / "report";
    auto r = cap::test::run_cap("report " + runs.string() + " --layout " + layout.string() + " --out " + out.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("movement-qqp-3: unfinished") != std::string::npos);
    const std::string md = read_text(out / "table.md");
    INFO(md);
    CHECK(md.find("# Fixture table") != std::string::npos);
    CHECK(md.find("## 10% remaining weights (90% sparsity)") != std::string::npos);
    CHECK(md.find("## 3% remaining weights (97% sparsity)") != std::string::npos);
    CHECK(md.find("| Method | QQP acc/F1 | published | Δ |") != std::string::npos);
    CHECK(md.find("| CAP-m | 90.47/87.16 | 91.6/87.7 | -1.13/-0.54 |") != std::string::npos);
    CHECK(md.find("| movement | 89.50/86.00 | unknown |  |") != std::string::npos);
    CHECK(md.find("| BERT-base (teacher, dense) | 91.00/88.00 | 91.4/88.4 | -0.40/-0.40 |") != std::string::npos);
    // At 3%: the unfinished movement run and the absent CAP-m run are both missing.
    const auto block3 = md.substr(md.find("## 3% remaining"));
    CHECK(block3.find("| movement | missing | unknown |  |") != std::string::npos);
    CHECK(block3.find("| CAP-m | missing | unknown |  |") != std::string::npos);
    CHECK(md.find("`cap-m-qqp-10` (10.13% remaining)") != std::string::npos);
    CHECK(md.find("CAP-m, qqp, 10%: issue #1") != std::string::npos);

    const std::string csv = read_text(out / "table.csv");
    INFO(csv);
    CHECK(csv.rfind("level,method,task,metric,ours,published,delta,status,runs,remaining_weights,source,std,n\n", 0) ==
          0);
    CHECK(csv.find("10,CAP-m,qqp,accuracy,90.4700,91.6,-1.1300,ok,cap-m-qqp-10,10.1300,issue #1,,1\n") !=
          std::string::npos);
    CHECK(csv.find("10,CAP-m,qqp,f1,87.1600,87.7,-0.5400,ok,") != std::string::npos);
    CHECK(csv.find("3,CAP-m,qqp,accuracy,,,,missing,,,,,0\n") != std::string::npos);
    CHECK(csv.find("3,movement,qqp,f1,,,,missing,,,,,0\n") != std::string::npos);
    for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().string().find(".tmp") == std::string::npos);

    // A sweep folder brings its layout (sweep.json), so --layout is not needed.
    write_text(runs / "sweep.json",
               json{{"sweep", "fixture"}, {"layout", layout.string()}, {"runs", json::array()}}.dump());
    const fs::path again = runs.parent_path() / "again";
    auto r2 = cap::test::run_cap("report " + runs.string() + " --out " + again.string());
    INFO(r2.output);
    CHECK(r2.exit_code == 0);
    CHECK(read_text(again / "table.md") == md);
}

TEST_CASE("report: seeds of one cell are averaged, and results off every level are listed, not dropped") {
    const fs::path runs = cap::test::scratch_dir("report_seeds") / "runs";
    make_run(runs, {"a-seed1", "CAP-m", "qqp", false, true, {final_event(10.13, 90.0, 87.0)}});
    make_run(runs, {"a-seed2", "CAP-m", "qqp", false, true, {final_event(10.13, 91.0, 88.0)}});
    make_run(runs, {"soft", "CAP-m", "qqp", false, true, {final_event(29.2, 70.3, 60.0)}});
    // A kill mid-write leaves a line cut short: skipped with a warning, the rest still read.
    write_text(runs / "a-seed2" / "metrics.jsonl", read_text(runs / "a-seed2" / "metrics.jsonl") + "{\"event\":\"tra");
    const fs::path layout = write_text(runs.parent_path() / "layout.toml", kLayout);
    cap::report::ReportRequest req{{runs}, layout, runs.parent_path() / "report"};
    auto outcome = cap::report::write_report(req);
    CHECK(std::any_of(outcome.warnings.begin(), outcome.warnings.end(), [](const std::string& w) {
        return w.find("1 unreadable line(s) skipped") != std::string::npos;
    }));
    const std::string md = read_text(req.out_dir / "table.md");
    INFO(md);
    // Two seeds: their mean, the sample standard deviation (sqrt(0.5) = 0.71) and the count.
    CHECK(md.find("| CAP-m | 90.50/87.50 ± 0.71/0.71 (n = 2) | 91.6/87.7 | -1.10/-0.20 |") != std::string::npos);
    const std::string csv = read_text(req.out_dir / "table.csv");
    CHECK(csv.find(",ok,a-seed1;a-seed2,10.1300;10.1300,") != std::string::npos);
    CHECK(csv.find(",0.7071,2\n") != std::string::npos);
    CHECK(md.find("## Results outside the table") != std::string::npos);
    CHECK(md.find("`soft` (CAP-m, qqp, final): 29.20% remaining, accuracy 70.30, f1 60.00") != std::string::npos);
    // The plot draws the seeds as one point, their mean, with the standard deviation as error bar.
    CHECK(read_text(req.out_dir / "plots" / "metric-qqp.dat").find("10.13 90.5 0.7071067812 2\n") != std::string::npos);
}

TEST_CASE("report: levels match structured stages exactly and unstructured measurements within a factor") {
    using cap::report::matches_level;
    CHECK(matches_level(10.13, 10));  // BERT-base top-k at 10% (biases and LayerNorm counted)
    CHECK(matches_level(10.75, 10));  // bert-tiny
    CHECK(matches_level(3.84, 3));    // bert-tiny at 3%
    CHECK_FALSE(matches_level(29.2, 10));
    CHECK_FALSE(matches_level(29.2, 50));
    CHECK_FALSE(matches_level(10.13, 3));
    // A result counts in one block only: the nearest level that accepts it.
    CHECK(cap::report::nearest_level(40.5, {50, 40}) == 40.0);
    CHECK(cap::report::nearest_level(46.0, {50, 40}) == 50.0);
    CHECK_FALSE(cap::report::nearest_level(29.2, {50, 10}).has_value());

    const fs::path runs = cap::test::scratch_dir("report_structured") / "runs";
    make_run(runs, {"cap-f",
                    "CAP-f",
                    "sst2",
                    true,
                    true,
                    {{{"event", "stage"}, {"stage", "stage-00"}, {"target_sparsity", 0.5}, {"accuracy", 80.0}},
                     {{"event", "stage"}, {"stage", "stage-01"}, {"target_sparsity", 0.9}, {"accuracy", 78.5}}},
                    {{"accuracy", 79.0}}});
    auto run = cap::report::read_run(runs / "cap-f");
    REQUIRE(run.levels.size() == 2);
    CHECK(run.levels[0].remaining == doctest::Approx(50));
    CHECK(run.levels[1].remaining == doctest::Approx(10));
    REQUIRE(run.kept.size() == 2);
    CHECK(run.kept[1].heads == std::vector<int64_t>{4, 2});
    CHECK(run.kept[1].ffn == std::vector<int64_t>{4, 10});
    CHECK(run.kept[0].heads_per_layer == 4);
    CHECK(run.losses.size() == 3);
    CHECK(run.losses[0].terms.count("learning_rate") == 0);

    // Without a layout: one block per level, the task's main metric, rows in the order seen.
    auto r =
        cap::test::run_cap("report " + (runs / "cap-f").string() + " --out " + (runs.parent_path() / "rep").string());
    REQUIRE(r.exit_code == 0);
    const std::string md = read_text(runs.parent_path() / "rep" / "table.md");
    INFO(md);
    CHECK(md.find("## 50% remaining weights") != std::string::npos);
    CHECK(md.find("| CAP-f | 78.50 |") != std::string::npos);
    CHECK(md.find("published") == std::string::npos);
}

namespace {

json stage(const char* name, double target_sparsity, double accuracy) {
    return {{"event", "stage"}, {"stage", name}, {"target_sparsity", target_sparsity}, {"accuracy", accuracy}};
}

// A structured run on SST-2 with two stages (50% and 10% remaining) and the given accuracies.
void sst2_run(const fs::path& runs, const std::string& method, int64_t seed, double at50, double at10) {
    make_run(runs, {method + "-" + std::to_string(seed),
                    method,
                    "sst2",
                    true,
                    true,
                    {stage("stage-00", 0.5, at50), stage("stage-01", 0.9, at10)},
                    {{"accuracy", 90.0}},
                    seed});
}

}  // namespace

TEST_CASE("report: a layout's pairs give paired differences over seeds with a 95% interval") {
    using cap::report::student_t_975;
    CHECK(student_t_975(1) == doctest::Approx(12.706));
    CHECK(student_t_975(2) == doctest::Approx(4.303));
    CHECK(student_t_975(60) == doctest::Approx(2.000).epsilon(0.001));
    CHECK(student_t_975(1000) == doctest::Approx(1.962).epsilon(0.001));

    const fs::path runs = cap::test::scratch_dir("report_pairs") / "runs";
    // 50%: differences 1.0, 1.5, 1.5: mean 1.3333, sd 0.2887, t(2) = 4.303: [0.6163, 2.0504], beyond 0.
    // 10%: differences -1, 8, -13: mean -2, sd 10.5357: an interval far across 0.
    sst2_run(runs, "CAP-f", 42, 80.0, 60.0);
    sst2_run(runs, "CAP-f", 43, 81.0, 70.0);
    sst2_run(runs, "CAP-f", 44, 82.0, 50.0);
    sst2_run(runs, "first-order", 42, 79.0, 61.0);
    sst2_run(runs, "first-order", 43, 79.5, 62.0);
    sst2_run(runs, "first-order", 44, 80.5, 63.0);
    sst2_run(runs, "CAP-f", 45, 99.0, 99.0);  // no baseline with seed 45: named, not paired
    const fs::path layout = write_text(runs.parent_path() / "layout.toml", R"(
title = "Pairs"
levels = [50, 10]
[[column]]
task = "sst2"
metrics = ["accuracy"]
[[row]]
method = "first-order"
[[row]]
method = "CAP-f"
[[pair]]
method = "CAP-f"
baseline = "first-order"
)");
    const fs::path out = runs.parent_path() / "report";
    auto r = cap::test::run_cap("report " + runs.string() + " --layout " + layout.string() + " --out " + out.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string md = read_text(out / "table.md");
    INFO(md);
    CHECK(md.find("| CAP-f − first-order | 50% | sst2 accuracy | **+1.33 ± 0.29** | **[+0.62, +2.05]** | 3 | 42, 43, "
                  "44 |") != std::string::npos);
    CHECK(
        md.find("| CAP-f − first-order | 10% | sst2 accuracy | -2.00 ± 10.54 | [-28.17, +24.17] | 3 | 42, 43, 44 |") !=
        std::string::npos);
    CHECK(md.find("- CAP-f-45 (no first-order run with seed 45), at 50%") != std::string::npos);
    const std::string csv = read_text(out / "pairs.csv");
    INFO(csv);
    CHECK(csv.find("50,CAP-f,first-order,sst2,accuracy,3,1.3333,0.2887,0.6162,2.050") != std::string::npos);
    CHECK(csv.find(",true,42;43;44,1.0000;1.5000;1.5000\n") != std::string::npos);
    CHECK(csv.find("10,CAP-f,first-order,sst2,accuracy,3,-2.0000,10.5357,") != std::string::npos);
    CHECK(csv.find(",false,42;43;44,-1.0000;8.0000;-13.0000\n") != std::string::npos);

    // A pair must name two rows of the layout.
    const fs::path bad = write_text(runs.parent_path() / "bad.toml", read_text(layout) + R"(
[[pair]]
method = "CAP-q"
baseline = "first-order"
)");
    const fs::path out2 = runs.parent_path() / "report-bad";
    auto refused =
        cap::test::run_cap("report " + runs.string() + " --layout " + bad.string() + " --out " + out2.string());
    INFO(refused.output);
    CHECK(refused.exit_code == 2);
    CHECK(refused.output.find("bad.toml:16:10: error: [[pair]] method 'CAP-q' is not the method of any [[row]]") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(out2));
}

TEST_CASE("report: plots are drawn with the expected series") {
    REQUIRE_MESSAGE(cap::test::run_command("sh -c 'command -v gnuplot'").exit_code == 0,
                    "gnuplot is missing: .ci/common.sh installs gnuplot-nox");
    const fs::path runs = qqp_runs("report_plots");
    make_run(runs,
             {"cap-f-qqp",
              "CAP-f",
              "qqp",
              true,
              true,
              {{{"event", "stage"}, {"stage", "stage-00"}, {"target_sparsity", 0.5}, {"accuracy", 90.0}, {"f1", 87.0}},
               {{"event", "stage"}, {"stage", "stage-01"}, {"target_sparsity", 0.9}, {"accuracy", 88.0}, {"f1", 84.0}}},
              {{"accuracy", 91.0}, {"f1", 88.0}}});
    const fs::path layout = write_text(runs.parent_path() / "layout.toml", kLayout);
    const fs::path out = runs.parent_path() / "report";
    auto outcome = cap::report::write_report({{runs}, layout, out});
    for (const auto& w : outcome.warnings) CHECK(w.find("gnuplot") == std::string::npos);
    const fs::path plots = out / "plots";
    for (const char* stem : {"metric-qqp", "losses-cap-m-qqp-10", "losses-cap-f-qqp", "kept-heads-cap-f-qqp",
                             "kept-ffn-cap-f-qqp", "remaining-cap-m-qqp-10"}) {
        CAPTURE(stem);
        REQUIRE(fs::exists(plots / (std::string(stem) + ".png")));
        const std::string png = read_text(plots / (std::string(stem) + ".png"));
        CHECK(png.substr(1, 3) == "PNG");
        CHECK(read_text(plots / (std::string(stem) + ".svg")).find("<svg") != std::string::npos);
        CHECK(fs::exists(plots / (std::string(stem) + ".gp")));
    }
    // The metric plot: one series per method that has results, and the teacher.
    const std::string metric = svg_of(plots, "metric-qqp");
    for (const char* series : {">CAP-m<", ">movement<", ">CAP-f<", ">teacher (dense)<"}) {
        CAPTURE(series);
        CHECK(metric.find(series) != std::string::npos);
    }
    const std::string metric_data = read_text(plots / "metric-qqp.dat");
    // Both stages, by remaining weights: mean, std and run count per level.
    CHECK(metric_data.find("# CAP-f: remaining, mean, sample std, runs\n10 88 0 1\n50 90 0 1\n") != std::string::npos);
    // The loss plot: every logged term, not the learning rate.
    const std::string losses = svg_of(plots, "losses-cap-m-qqp-10");
    for (const char* series : {">loss<", ">ce<", ">distill<", ">prc.unsupervised<"}) {
        CAPTURE(series);
        CHECK(losses.find(series) != std::string::npos);
    }
    CHECK(losses.find("learning_rate") == std::string::npos);
    // Heat maps: kept heads per layer and stage, remaining weights per matrix.
    CHECK(read_text(plots / "kept-heads-cap-f-qqp.dat").find("1 1 2\n") !=
          std::string::npos);  // stage 2, layer 1: 2 heads
    CHECK(svg_of(plots, "kept-heads-cap-f-qqp").find("90% pruned") != std::string::npos);
    const std::string remaining = svg_of(plots, "remaining-cap-m-qqp-10");
    CHECK(remaining.find("attention.self.query") != std::string::npos);
    CHECK(remaining.find("output.dense") != std::string::npos);
    CHECK(read_text(plots / "remaining-cap-m-qqp-10.dat").find("1 1 20\n") !=
          std::string::npos);  // layer 1 output.dense
}

TEST_CASE("report: a bad layout is an error at file:line and writes nothing") {
    const fs::path runs = qqp_runs("report_bad_layout");
    const fs::path layout = write_text(runs.parent_path() / "layout.toml", std::string(kLayout) + R"(
[[published]]
method = "CAP-m"
task = "qqp"
level = 3
values = [80.0]
source = "x"

[[published]]
method = "CAP-q"
task = "qqp"
level = 3
values = [80.0, 70.0]
source = "x"
)");
    const fs::path out = runs.parent_path() / "report";
    auto r = cap::test::run_cap("report " + runs.string() + " --layout " + layout.string() + " --out " + out.string());
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("layout.toml:33:1: error: 'values' has 1 numbers; column 'qqp' has 2 metrics") !=
          std::string::npos);
    CHECK(r.output.find("no [[row]] has method 'CAP-q'") != std::string::npos);
    CHECK_FALSE(fs::exists(out));

    auto none = cap::test::run_cap("report " + (runs.parent_path() / "nowhere").string() + " --out " + out.string());
    CHECK(none.exit_code == 2);
    CHECK(none.output.find("nowhere: no such folder") != std::string::npos);
}

TEST_CASE("report: a run with a malformed summary.json is named and left out, and the others make the table") {
    const fs::path runs = qqp_runs("report_malformed_run");
    write_text(runs / "movement-qqp-10" / "summary.json", "{\"task\": \"qqp\", \"final\": ");  // cut short
    // Well-formed JSON of the wrong shape: a run's name must be text.
    const fs::path odd = make_run(runs, {"odd-qqp-10", "movement", "qqp", false, true, {final_event(10.0, 1, 1)}, {}});
    write_text(odd / "manifest.json", json{{"resolved", {{"run", {{"name", 7}}}}}}.dump());
    const fs::path layout = write_text(runs.parent_path() / "layout.toml", kLayout);
    const fs::path out = runs.parent_path() / "report";
    auto r = cap::test::run_cap("report " + runs.string() + " --layout " + layout.string() + " --out " + out.string());
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find((runs / "movement-qqp-10" / "summary.json").string() + ": not valid JSON (") !=
          std::string::npos);
    CHECK(r.output.find((odd / "manifest.json").string() + ": not what cap writes (") != std::string::npos);
    CHECK(r.output.find("2 run(s) could not be read and are not in it") != std::string::npos);
    CHECK(r.output.find("json.exception") == std::string::npos);
    const std::string md = read_text(out / "table.md");
    INFO(md);
    CHECK(md.find("| CAP-m | 90.47/87.16 | 91.6/87.7 | -1.13/-0.54 |") != std::string::npos);
    CHECK(md.find("| movement | missing | unknown |  |") != std::string::npos);
}

TEST_CASE("report: the paper's layout files load, with the published numbers of docs/algorithms.md §1") {
    const fs::path paper = fs::path(cap::test::kSourceDir) / "configs" / "paper";
    for (const auto& e : fs::directory_iterator(paper)) {
        if (e.path().string().find(".layout.toml") == std::string::npos) continue;
        CAPTURE(e.path());
        CHECK_NOTHROW(cap::report::load_layout(e.path()));
    }
    auto main = cap::report::load_layout(paper / "main.layout.toml");
    CHECK(main.levels == std::vector<double>{50, 10, 3});
    auto find = [&](const std::string& method, const std::string& task, std::optional<double> level) {
        for (const auto& p : main.published)
            if (p.method == method && p.task == task && p.level == level) return p.values;
        return std::vector<double>{};
    };
    CHECK(find("CAP-m", "qqp", 10) == std::vector<double>{91.6, 87.7});
    CHECK(find("CAP-soft", "qqp", 10) == std::vector<double>{90.7, 87.4});
    CHECK(find("soft-movement", "squad", 3) == std::vector<double>{72.7, 82.3});
    CHECK(find("magnitude", "qqp", 10) == std::vector<double>{79.8, 65.0});
    CHECK(find("BERT-base", "mnli", std::nullopt) == std::vector<double>{84.5, 84.9});
    CHECK(find("CAP-f", "mnli", 10).empty());  // unknown stays unknown
    CHECK(main.published.size() == 23);        // 3 dense + 2 CAP + 18 baselines: all that is known
}
