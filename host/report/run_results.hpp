// What a report needs from one run folder, read from the files the run wrote: manifest.json
// (the method, task and plugins), summary.json (it finished; the final metrics), metrics.jsonl
// (the loss terms over steps), masks.safetensors (structured: kept heads and FFN neurons per
// layer) and remaining_weights.csv (unstructured: remaining weights per matrix).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cap::report {

// One point of the table: a structured run gives one per pruning stage, an unstructured run one.
struct LevelResult {
    double remaining = 0;  // % of encoder weights remaining (docs/algorithms.md §6 for unstructured
                           // runs; 100 - target sparsity of heads and FFN for structured ones)
    std::string stage;     // "stage-03", or "final"
    std::map<std::string, double> metrics;
};

struct LossPoint {
    int64_t step = 0;
    std::map<std::string, double> terms;  // "loss", "ce", "distill", "prc.unsupervised", ...
};

struct KeptUnits {  // structured runs: one entry per stage
    double target_sparsity = 0;
    std::vector<int64_t> heads;  // per layer
    std::vector<int64_t> ffn;    // per layer
    int64_t heads_per_layer = 0, ffn_per_layer = 0;
};

struct MatrixRemaining {  // unstructured runs: remaining_weights.csv, matrix rows
    int64_t layer = 0;
    std::string matrix;
    double percent = 0;
};

struct RunResult {
    std::filesystem::path dir;
    std::string name;    // [run] name
    std::string method;  // [run] method, or named after its plugins
    std::string task;    // [task] name
    int64_t seed = -1;   // [run] seed; -1 when the manifest does not say
    std::string main_metric;
    bool finished = false;  // summary.json exists
    bool structured = false;
    std::map<std::string, double> teacher;
    std::vector<LevelResult> levels;
    std::vector<LossPoint> losses;  // pruning steps only (after the last resume)
    std::vector<KeptUnits> kept;
    std::vector<MatrixRemaining> matrices;
    int64_t unreadable_lines = 0;  // metrics.jsonl lines cut short (a kill mid-write): skipped
    // Structured runs that went on below [constraints] min_heads_per_layer (on_violation =
    // "warn"): "stage-01 left layer 0 with 0 heads (min_heads_per_layer = 1)", one per layer, at
    // the stage that first left it so.
    std::vector<std::string> constraint_notes;
};

// Where a run folder stands, by the one rule `cap sweep` (done or to resume) and `cap report`
// (a result or missing) share: finished when manifest.json and summary.json both exist and
// hold JSON objects; unfinished without summary.json; damaged when summary.json is there but
// it or the manifest is not (detail says which, naming the file).
enum class RunCompletion { Unfinished, Finished, Damaged };
struct RunCompletionStatus {
    RunCompletion state = RunCompletion::Unfinished;
    std::string detail;  // for Damaged
};
RunCompletionStatus run_completion(const std::filesystem::path& dir);

// Reads a run folder; throws std::runtime_error naming the file when one is unreadable.
// A folder without summary.json is returned with finished = false and no levels.
RunResult read_run(const std::filesystem::path& dir);

// The run folders under `path`: itself when it is one (has manifest.json), else its
// subfolders that are (a sweep folder), sorted by name. Throws when there are none.
std::vector<std::filesystem::path> find_run_dirs(const std::filesystem::path& path);

// "movement+prc+snc+fic+kd": the label of a run whose recipe sets no [run] method.
std::string derived_method(const std::string& criterion, const std::vector<std::string>& contrastive, bool distill);

}  // namespace cap::report
