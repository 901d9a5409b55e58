// The run-folder protocol `cap run` and `cap sweep` share: recipe.toml first (a folder holding
// it is a run, which a sweep resumes), run.log, the backend report, manifest.json,
// schedule.json, then the training (run/training_pipeline.hpp) and summary.json.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "recipe/overrides.hpp"
#include "recipe/resolve.hpp"

namespace cap::run {

// Runs a resolved recipe into `dir` (created and empty, or an unfinished run folder when
// `resume`). Logs any error, to run.log too, and returns false rather than throwing; a run
// stopped by a signal (util/stop_request.hpp) returns false with util::stop_requested() set.
bool execute_run(const recipe::ResolvedRecipe& recipe, const std::filesystem::path& dir, bool resume,
                 const recipe::Overrides& overrides, const std::vector<std::string>& command_line,
                 const std::string& recipe_label);

}  // namespace cap::run
