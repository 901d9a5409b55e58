// The report's table: for every level (block), method (row) and task (column), our number,
// the published one and the difference; Markdown for reading, CSV (one row per metric) for tools.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/layout.hpp"
#include "report/run_results.hpp"

namespace cap::report {

struct TableCell {
    std::vector<double> ours;                  // one per column metric; empty: missing
    std::vector<double> stddev;                // sample standard deviation per metric, with 2 runs or more
    std::vector<const RunResult*> runs;        // the runs averaged (several seeds: their mean)
    std::vector<std::vector<double>> samples;  // each run's metrics, as runs
    std::vector<double> remaining;             // each run's measured remaining weights, %
    const Published* published = nullptr;      // none: unknown
};

struct TableBlock {
    double level = 0;
    std::vector<std::vector<TableCell>> cells;  // [row][column]
};

struct Table {
    const Layout* layout = nullptr;
    std::vector<TableBlock> blocks;
    std::vector<std::pair<const RunResult*, const LevelResult*>> elsewhere;  // results no block took
    std::vector<const RunResult*> below_constraints;                         // runs with constraint_notes
};

Table build_table(const Layout& layout, const std::vector<RunResult>& runs);

std::string to_markdown(const Table& table);
std::string to_csv(const Table& table);

// "10%" / "2.5%"
std::string level_text(double level);

}  // namespace cap::report
