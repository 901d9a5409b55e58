// The `cap` subcommands. Each returns the process exit status (see cli/common.hpp).
#pragma once

#include <string>
#include <vector>

#include "cli/common.hpp"
#include "recipe/overrides.hpp"

namespace cap::cli {

// cap plugins [--json]: every plugin found, with its options; rejected files too.
int cmd_plugins(const GlobalOptions& global, bool json);

// cap validate RECIPE: parse, resolve every plugin, check every option. Writes nothing.
int cmd_validate(const GlobalOptions& global, const std::string& recipe,
                 const recipe::Overrides& overrides);

struct RunOptions {
    std::string recipe;
    recipe::Overrides overrides;
    std::string out_dir;  // empty: runs/<name>-<UTC time>
    std::string resume;   // a run folder to continue (its recipe.toml and last checkpoint)
    std::vector<std::string> command_line;  // argv, recorded in the manifest
};

// cap run RECIPE: validate, create the run folder with manifest.json and run.log, then run.
// cap run --resume RUN_DIR: continue a killed run from its last checkpoint.
int cmd_run(const GlobalOptions& global, const RunOptions& options);

struct EvalCommand {
    std::string model;           // Hugging Face folder
    std::string task;
    std::string data;
    int64_t max_seq_length = 128;
    int64_t doc_stride = 128;    // SQuAD
    int64_t batch_size = 128;
    std::string out;             // predictions as JSON lines; empty: none
};

// cap eval --model DIR --task NAME --data PATH: metrics as one JSON object.
int cmd_eval(const EvalCommand& options);

// cap check-plugin FILE.so: load one library and run its kind's conformance checks.
int cmd_check_plugin(const GlobalOptions& global, const std::string& file,
                     const std::vector<std::string>& options);

}  // namespace cap::cli
