// The fine-tuned teacher that FiC and distillation learn from: the recipe's [model] teacher
// when it names one, otherwise the pre-trained model fine-tuned on the task by this run (the
// "finetune" stage, resumable), saved as <run>/teacher in Hugging Face layout.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "data/task.hpp"
#include "model/bert.hpp"
#include "recipe/resolve.hpp"
#include "run/precision.hpp"
#include "train/metrics_log.hpp"

namespace cap::run {

struct Teacher {
    model::Bert model{nullptr};
    std::filesystem::path folder;
    nlohmann::ordered_json metrics;  // its evaluation on the task
};

Teacher prepare_teacher(const recipe::ResolvedRecipe& recipe, const data::Task& task, const at::Device& device,
                        const RunPrecision& precision, const std::filesystem::path& run_dir, train::MetricsLog& log,
                        bool resume);

}  // namespace cap::run
