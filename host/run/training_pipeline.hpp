// What `cap run` does once the run folder exists and the backend is up: read the task, prepare
// the teacher (fine-tuning it when the recipe names none), prune (run/pruning_run.hpp) and write
// summary.json.
#pragma once

#include <filesystem>

#include "cap/abi.h"
#include "recipe/resolve.hpp"
#include "run/precision.hpp"

namespace cap::run {

// Returns the summary it wrote. Throws on failure (the caller reports it and exits 1).
void run_training(const recipe::ResolvedRecipe& recipe, const cap_exec_context& context, const RunPrecision& precision,
                  const std::filesystem::path& run_dir, bool resume);

}  // namespace cap::run
