// `cap sweep --emit slurm`: a Slurm job-array script, one array task per run of the sweep.
// Each task calls `cap sweep RECIPE --cell $SLURM_ARRAY_TASK_ID`, so a requeued or repeated
// task skips a finished run and resumes a killed one, exactly as a local sweep does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "recipe/overrides.hpp"
#include "sweep/expand.hpp"

namespace cap::sweep {

struct SlurmRequest {
    std::filesystem::path cap_executable;   // absolute
    std::filesystem::path recipe;           // absolute
    std::filesystem::path out_dir;          // absolute: the sweep's folder
    recipe::Overrides overrides;            // forwarded to every task
    std::vector<std::string> plugin_paths;  // forwarded --plugin-path folders (absolute)
    std::filesystem::path working_dir;      // where --emit ran: relative --set paths mean the same there
    // Per array index, the run's name and its recipe's fingerprint (sweep::recipe_fingerprint):
    // a task runs the cell it was emitted for, and refuses when that cell's recipe has changed.
    std::vector<std::pair<std::string, std::string>> cells;
};

// The first 16 hex digits of SHA-256 over a resolved recipe's TOML.
std::string recipe_fingerprint(const std::string& resolved_toml);

std::string slurm_script(const Expansion& sweep, const SlurmRequest& request);

}  // namespace cap::sweep
