// The fine-tuning stage: train a model on a task with AdamW and a linear schedule, evaluate
// after every epoch, checkpoint after every epoch, and continue from the last checkpoint when
// resuming. CAP uses it to produce the fine-tuned teacher when a recipe names none.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "data/task.hpp"
#include "model/bert.hpp"
#include "train/metrics_log.hpp"
#include "train/settings.hpp"

namespace cap::train {

struct StageContext {
    const data::Task& task;
    model::Bert& model;
    at::Device device;
    std::filesystem::path checkpoint_dir;
    MetricsLog& log;
    std::string stage;             // names checkpoints and metrics events
    uint64_t seed;
    bool resume = false;           // continue from the stage's newest checkpoint, if any
};

// The task's training loss: cross-entropy, or for spans the mean of start and end cross-entropy.
at::Tensor task_loss(const data::Task& task, const model::BertOutputs& outputs, const data::Batch& batch);

// Runs the stage to its end; returns the last evaluation's metrics.
nlohmann::ordered_json fine_tune(const StageContext& context, const FineTuneSettings& settings);

}  // namespace cap::train
