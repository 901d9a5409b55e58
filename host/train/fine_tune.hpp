// The fine-tuning stage: train a model on a task with AdamW and a linear schedule, evaluate
// after every epoch, checkpoint after every epoch, and continue from the last checkpoint when
// resuming. CAP uses it to produce the fine-tuned teacher when a recipe names none.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/task.hpp"
#include "model/bert.hpp"
#include "settings/training.hpp"
#include "train/metrics_log.hpp"

namespace cap::train {

// One training step's loss: `loss` is what backward() runs on (it may be a surrogate whose
// gradient is right but whose value is not), `value` the loss itself, `terms` its parts.
struct StepLoss {
    at::Tensor loss;
    double value = 0;
    std::vector<std::pair<std::string, double>> terms;
};
// Forward and loss of one batch at run-wide optimizer step `step`.
using StepLossFn = std::function<StepLoss(const data::Batch& batch, int64_t step)>;

// Tensors outside the model that the optimizer also trains (e.g. movement-pruning scores).
struct OptimizerGroup {
    std::string name;
    std::vector<at::Tensor> tensors;  // leaves that require grad
    double lr_scale = 1.0;            // their learning rate over the model's
};

// One training stage, built by name: `StageContext ctx(task, model, log); ctx.stage = "prune";`.
struct StageContext {
    StageContext(const data::Task& task, model::Bert& model, MetricsLog& log) : task(task), model(model), log(log) {}

    const data::Task& task;
    model::Bert& model;
    MetricsLog& log;
    at::Device device = at::kCPU;
    std::filesystem::path checkpoint_dir;
    std::string stage;                   // names checkpoints and metrics events
    uint64_t seed = 42;                  // the run's; the data order of each stage derives from it
    bool resume = false;                 // continue from the stage's newest checkpoint, if any
    StepLossFn step_loss;                // empty: the task's cross-entropy on a plain forward pass
    model::ForwardOptions eval_forward;  // masks to evaluate with
    int64_t step_offset = 0;             // optimizer steps taken by earlier stages of the run
    bool checkpoints = true;             // save (and resume from) a checkpoint after every epoch
    bool loss_scaling = false;           // float16: dynamic loss scaling (train/loss_scaler.hpp)
    nlohmann::ordered_json event_fields = nlohmann::ordered_json::object();  // added to every event
    std::vector<OptimizerGroup> extra_groups;
    // Hooks for training while pruning; each may be empty. `epoch` counts the stage's epochs from
    // 0, `step` the run's optimizer steps.
    std::function<void(int64_t epoch, int64_t step)> on_epoch_start;
    std::function<void(int64_t step)> after_backward;     // gradients are in, the update is next
    std::function<nlohmann::ordered_json()> before_eval;  // its fields join the eval event
};

// The task's training loss: cross-entropy, or for spans the mean of start and end cross-entropy.
at::Tensor task_loss(const data::Task& task, const model::BertOutputs& outputs, const data::Batch& batch);

// Runs the stage to its end; returns the last evaluation's metrics.
nlohmann::ordered_json fine_tune(const StageContext& context, const settings::FineTuneSettings& settings);

}  // namespace cap::train
