// The [sweep] table of a recipe: axes over recipe keys, expanded into one run per combination.
//
//   [sweep]
//   name = "cap-m-levels"              # the sweep's folder: runs/<name> (default: the file's stem)
//   run_name = "{method}-{level}"      # each run's name from the axes' labels (default: joined by "-")
//   layout = "main.layout.toml"        # optional: `cap sweep` renders this report when every run is done
//
//   [[sweep.axis]]                     # an axis over one key: one run per value
//   key = "schedule.final_threshold"
//   values = [0.10, 0.03]
//   labels = ["10", "3"]               # optional; default: the values as written
//   name = "level"                     # optional; default: the key's last part
//
//   [[sweep.axis]]                     # an axis of named variants: any set of edits per value
//   name = "method"
//   variants = [
//     { label = "cap-m", recipe = "../cap-m/qqp-{level}.toml" },   # the run starts from this recipe
//     { label = "movement", set = { "run.method" = "movement" }, unset = ["contrastive"] },
//   ]
//
// Several [[sweep.grid]] tables (each with its own [[sweep.grid.axis]] list, and optionally
// `set` / `unset` for every run of the grid) make the sweep the union of their products, for
// tables whose rows do not share every column.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "recipe/node.hpp"

namespace cap::sweep {

struct Variant {
    std::string label;
    recipe::Origin origin;
    std::string recipe;  // a recipe to start from ("{axis}" placeholders allowed); may be empty
    recipe::Origin recipe_origin;
    std::vector<std::pair<std::vector<std::string>, recipe::Node>> sets;  // key path, value
    std::vector<std::pair<std::vector<std::string>, recipe::Origin>> unsets;
};

struct Axis {
    std::string name;
    recipe::Origin origin;
    std::vector<Variant> variants;
    std::vector<std::string> keys() const;  // every key path an axis edits, dotted
};

struct Grid {
    recipe::Origin origin;
    std::vector<Axis> axes;
    Variant common;  // the grid's own `set` / `unset`, applied before its axes
};

struct SlurmSettings {
    std::string partition, account, time = "24:00:00", mem = "32G";
    std::optional<std::string> gres;  // unset: "gpu:1" unless every run's backend is "cpu"; "": none
    int64_t cpus_per_task = 8;
    int64_t max_parallel = 0;           // 0: no limit on array tasks running at once
    int64_t stop_signal_seconds = 300;  // USR1 this long before the time limit (checkpoint, requeue); 0: none
    std::vector<std::string> setup;     // shell lines run before cap (module load, venv, ...)
    std::vector<std::string> sbatch;    // extra "#SBATCH ..." options, without the prefix
};

struct SweepSpec {
    std::string name;
    std::string run_name_template;  // empty: labels joined by "-"
    std::filesystem::path layout;   // absolute; empty: none
    std::vector<Grid> grids;
    SlurmSettings slurm;
    recipe::Origin origin;
};

// The [sweep] table of `root`, or nothing when there is none. Throws RecipeErrors naming
// file:line for every malformed entry. `default_name` is used when [sweep] has no name.
std::optional<SweepSpec> parse_sweep(const recipe::Node& root, const std::string& default_name);

// Letters, digits, '.', '_', '-': what may name an axis, a label, a run (and so a folder).
bool good_label(const std::string& text);

// Replaces "{axis}" in `text` with that axis's label; throws std::invalid_argument on an
// unknown or unclosed placeholder.
std::string fill_labels(const std::string& text, const std::vector<std::pair<std::string, std::string>>& labels);

}  // namespace cap::sweep
