// CAP-m and CAP-soft: unstructured pruning with a score-based criterion and a per-step schedule
// (cap-reference 3.2). One training run of [prune] epochs: at every step the schedule gives a
// threshold and the criterion binarizes its scores (or the weights) into one mask per encoder
// linear; scores train in their own optimizer group. PrC and FiC banks are captured before
// training, an SnC snapshot at the start of every epoch from the second on (in train mode, as
// the reference). Evaluation binarizes at the final threshold. The result is final/: a plain
// Hugging Face checkpoint with the pruned weights zeroed, with masks.safetensors (and
// scores.safetensors) and remaining_weights.csv beside it in the run folder.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "data/task.hpp"
#include "plugin/criterion_plugin.hpp"
#include "recipe/resolve.hpp"
#include "run/teacher_stage.hpp"
#include "train/metrics_log.hpp"

namespace cap::run {

// Returns the summary of the training and of the final model.
nlohmann::ordered_json run_unstructured_pruning(const recipe::ResolvedRecipe& recipe, const data::Task& task,
                                                Teacher& teacher, host::CriterionPlugin& criterion,
                                                const cap_exec_context& context, const std::filesystem::path& run_dir,
                                                train::MetricsLog& log);

}  // namespace cap::run
