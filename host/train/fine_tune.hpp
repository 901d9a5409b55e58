// A training stage: train a model on a task with AdamW and a linear schedule, evaluate after
// every epoch, checkpoint after every epoch (and every checkpoint_every_steps, and when a stop
// signal arrives), and continue from the newest checkpoint when resuming. The fine-tuned
// teacher and every pruning stage are trained by it.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
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
    std::string stage;    // names checkpoints and metrics events
    uint64_t seed = 42;   // the run's; the data order of each stage derives from it
    bool resume = false;  // continue from the stage's newest checkpoint, if any
    // Resuming without a usable checkpoint: metrics.jsonl is cut back to this size first (what
    // the log held where the stage began), so the events of the lost attempt do not stay.
    std::optional<uint64_t> metrics_bytes_at_start;
    StepLossFn step_loss;                // empty: the task's cross-entropy on a plain forward pass
    model::ForwardOptions eval_forward;  // masks to evaluate with
    int64_t step_offset = 0;             // optimizer steps taken by earlier stages of the run
    bool checkpoints = true;             // save (and resume from) checkpoints
    bool loss_scaling = false;           // float16: dynamic loss scaling (train/loss_scaler.hpp)
    nlohmann::ordered_json event_fields = nlohmann::ordered_json::object();  // added to every event
    std::vector<OptimizerGroup> extra_groups;
    // Hooks for training while pruning; each may be empty. `epoch` counts the stage's epochs from
    // 0, `step` the run's optimizer steps.
    std::function<void(int64_t epoch, int64_t step)> on_epoch_start;
    std::function<void(int64_t step)> after_backward;     // gradients are in, the update is next
    std::function<nlohmann::ordered_json()> before_eval;  // its fields join the eval event
    // The caller's state in each checkpoint (e.g. how many banks were delivered), and the hook
    // that gets it back when a checkpoint is restored, before training continues.
    std::function<nlohmann::ordered_json()> checkpoint_fields;
    std::function<void(const nlohmann::ordered_json& fields)> on_restore;
};

// The task's training loss: cross-entropy, or for spans the mean of start and end cross-entropy.
at::Tensor task_loss(const data::Task& task, const model::BertOutputs& outputs, const data::Batch& batch);

// Runs the stage to its end; returns the last evaluation's metrics. A stop request
// (util/stop_request.hpp) ends it after the current step with a checkpoint, throwing
// util::Interrupted.
nlohmann::ordered_json fine_tune(const StageContext& context, const settings::FineTuneSettings& settings);

}  // namespace cap::train
