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
};

std::string slurm_script(const Expansion& sweep, const SlurmRequest& request);

}  // namespace cap::sweep
