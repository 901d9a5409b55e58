// The report's plots, drawn by gnuplot (Debian's gnuplot-nox, cairo terminals) from data files
// and scripts written next to them, so a user can restyle a plot and run `gnuplot NAME.gp`:
//   metric-<task>.{png,svg}       the main metric against remaining weights, one series per method
//   losses-<run>.{png,svg}        each loss term over the pruning steps
//   kept-heads-<run>, kept-ffn-<run>   structured runs: heads / FFN neurons kept per layer and stage
//   remaining-<run>.{png,svg}     unstructured runs: remaining weights per layer and matrix
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "report/layout.hpp"
#include "report/run_results.hpp"

namespace cap::report {

struct PlotOutcome {
    std::vector<std::filesystem::path> files;  // every .png and .svg written
    std::vector<std::string> warnings;         // plots not drawn, and why
};

// Writes the data and scripts into `dir` and runs gnuplot on each (the program named by
// $CAP_GNUPLOT, else `gnuplot` on the PATH). Without gnuplot it writes the scripts and warns.
PlotOutcome write_plots(const std::vector<RunResult>& runs, const Layout& layout, const std::filesystem::path& dir);

}  // namespace cap::report
