// Running a sweep's cells here, one after another: finished runs are skipped, killed ones
// resumed, a failed run does not stop the rest, sweep.json follows every run, and the report is
// rendered when every run is done and the sweep names a layout. The run itself is the caller's
// (`cap` passes run::execute_run), so this module links no LibTorch.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sweep/plan.hpp"

namespace cap::sweep {

// Runs one cell into `dir`; false when the run failed (its run.log says why).
using ExecuteCell =
    std::function<bool(const recipe::ResolvedRecipe& recipe, const std::filesystem::path& dir, bool resume)>;

struct RunnerOptions {
    std::filesystem::path out_dir;  // the sweep's folder
    std::string recipe_file;        // as given, for sweep.json
    bool single_cell = false;       // a Slurm array task: its own log, no report; sweep.json gets its run
};

enum class SweepOutcome {
    kAllDone,     // every run finished (and the report, if any, was rendered)
    kSomeFailed,  // a run or the report failed
    kStopped,     // a stop signal ended a run after its checkpoint; later runs were not started
};

SweepOutcome run_cells(const Expansion& expansion, std::vector<CellPlan>& plans, const RunnerOptions& options,
                       const ExecuteCell& execute);

}  // namespace cap::sweep
