// A report's layout: how the paper lays a table out, and the numbers it published.
//
//   title = "CAP main results"
//   note = "BERT-base, with distillation"          # optional, printed under the title
//   levels = [50, 10, 3]                           # remaining weights (%), one block each
//   published_columns = true                       # optional: published/Δ columns even when no
//                                                  # number is known (all "unknown"); default: when
//                                                  # the file has a [[published]] entry
//
//   [[column]]                                     # one per task, in order
//   task = "qqp"
//   metrics = ["accuracy", "f1"]                   # keys of the runs' metrics
//   header = "QQP acc/F1"
//
//   [[row]]                                        # one per method, in order
//   method = "CAP-m"                               # matches a run's [run] method
//   from = "teacher"                               # optional: the row is the runs' teacher (dense)
//
//   [[published]]                                  # a published cell; anything absent is "unknown"
//   method = "CAP-m"
//   task = "qqp"
//   level = 10                                     # omit for a dense row (every block)
//   values = [91.6, 87.7]                          # one per metric of the column
//   source = "paper, Table 1 (via ContrastivePruning issue #1)"
//
//   [[pair]]                                       # optional: paired differences over seeds
//   method = "CAP-m"                               # a [[row]] method
//   baseline = "movement"                          # another [[row]] method
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/run_results.hpp"

namespace cap::report {

struct Column {
    std::string task;
    std::vector<std::string> metrics;
    std::string header;
};

struct Row {
    std::string method;
    bool from_teacher = false;
};

struct Published {
    std::string method, task;
    std::optional<double> level;  // none: every level (a dense row)
    std::vector<double> values;
    std::string source;
};

struct PairSpec {  // [[pair]]: a method and the baseline it is compared with, seed by seed
    std::string method, baseline;
};

struct Layout {
    std::string title, note;
    std::vector<double> levels;
    std::vector<Column> columns;
    std::vector<Row> rows;
    std::vector<Published> published;
    std::vector<PairSpec> pairs;
    bool published_columns = false;
    std::filesystem::path file;  // empty: derived from the runs
};

// Throws recipe::RecipeErrors naming file:line for every problem.
Layout load_layout(const std::filesystem::path& file);

// Without a layout file: one block per level the runs reached, one column per task (its main
// metric), one row per method, in the order first seen.
Layout derived_layout(const std::vector<RunResult>& runs);

// Whether a run's measured remaining weights belong in a block: structured levels are exact;
// unstructured ones count biases and LayerNorm (docs/algorithms.md §6), so top-k at 10% reads 10.13% on
// BERT-base and 10.75% on a 2-layer model: within a factor of 1.35 of the level counts.
bool matches_level(double remaining, double level);

// The level of `levels` a result belongs to: the nearest (in ratio) that matches_level accepts,
// so no result counts in two blocks; none when no level is close enough.
std::optional<double> nearest_level(double remaining, const std::vector<double>& levels);

}  // namespace cap::report
