// The `cap` subcommands. Each returns the process exit status (see cli/common.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "recipe/overrides.hpp"
#include "recipe/resolve.hpp"

namespace cap::cli {

// cap plugins [--json]: every plugin found, with its options; rejected files too.
int cmd_plugins(const GlobalOptions& global, bool json);

// cap validate RECIPE: parse, resolve every plugin, check every option. Writes nothing.
int cmd_validate(const GlobalOptions& global, const std::string& recipe, const recipe::Overrides& overrides);

struct RunOptions {
    std::string recipe;
    recipe::Overrides overrides;
    std::string out_dir;                    // empty: runs/<name>-<UTC time>
    std::string resume;                     // a run folder to continue (its recipe.toml and last checkpoint)
    std::vector<std::string> command_line;  // argv, recorded in the manifest
};

// cap run RECIPE: validate, create the run folder with manifest.json and run.log, then run.
// cap run --resume RUN_DIR: continue a killed run from its last checkpoint.
int cmd_run(const GlobalOptions& global, const RunOptions& options);

struct SweepOptions {
    std::string recipe;
    recipe::Overrides overrides;  // applied to every run; an override of an axis key is an error
    std::string out_dir;          // empty: runs/<sweep name>
    bool dry_run = false;
    std::string emit;         // "slurm": write the job-array script instead of running
    std::string cell;         // one run only, by index or name (what Slurm array tasks use)
    std::string cell_recipe;  // with --cell: the fingerprint the cell's recipe must still have
    std::vector<std::string> command_line;
};

// cap sweep RECIPE: list (--dry-run), emit a Slurm array (--emit slurm), or run every cell
// here, skipping finished runs and resuming killed ones.
int cmd_sweep(const GlobalOptions& global, const SweepOptions& options);

struct ReportOptions {
    std::vector<std::string> run_dirs;  // run folders, or sweep folders (every run inside)
    std::string layout;                 // layout TOML; empty: one block per level, every task and method
    std::string out_dir;                // default: report/ under the current folder
};

// cap report RUN_DIR...: Markdown and CSV tables, with published numbers and deltas, and plots.
int cmd_report(const ReportOptions& options);

struct EvalCommand {
    std::string model;  // Hugging Face folder, or a model id in the local cache
    std::string task;
    std::string data;
    int64_t max_seq_length = 128;
    int64_t doc_stride = 128;  // SQuAD
    int64_t batch_size = 128;
    std::string precision = "float32";  // bfloat16: the forward passes under autocast
    std::string out;                    // predictions as JSON lines; empty: none
};

// cap eval --model DIR --task NAME --data PATH: metrics as one JSON object.
int cmd_eval(const EvalCommand& options);

// cap check-plugin FILE.so: load one library and run its kind's conformance checks.
int cmd_check_plugin(const GlobalOptions& global, const std::string& file, const std::vector<std::string>& options);

}  // namespace cap::cli
