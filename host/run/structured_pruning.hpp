// CAP-f: iterative structured pruning driven by the recipe's plugins (cap-reference 3.1). For
// every stage of the schedule: importance pass and selection (criterion), bank capture
// (contrastive modules), masks applied, retraining with a fresh optimizer and learning-rate
// schedule, evaluation. Then the final model is saved compacted (final/) and, optionally, dense
// with the pruned weights zeroed (final-masked/).
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "data/task.hpp"
#include "plugin/criterion_plugin.hpp"
#include "recipe/resolve.hpp"
#include "run/teacher_stage.hpp"
#include "train/metrics_log.hpp"

namespace cap::run {

// Returns the summary of the stages and of the final model.
nlohmann::ordered_json run_structured_pruning(const recipe::ResolvedRecipe& recipe, const data::Task& task,
                                              Teacher& teacher, host::CriterionPlugin& criterion,
                                              const cap_exec_context& context, const std::filesystem::path& run_dir,
                                              train::MetricsLog& log);

}  // namespace cap::run
