// The loss CAP trains and measures importance with (docs/algorithms.md §5):
//   ce_weight * CE + distillation + sum over contrastive modules of (unsupervised + supervised).
// Distillation and the contrastive terms are plugins that return their value and the gradient
// w.r.t. their input (logits, representations); the host folds each into the backward pass as
// the surrogate sum(input * gradient), so autograd carries it into the model.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cap/contrastive.h"
#include "data/task.hpp"
#include "model/bert.hpp"
#include "plugin/contrastive_plugin.hpp"
#include "plugin/distill_plugin.hpp"
#include "prune/training_set_encoding.hpp"
#include "train/fine_tune.hpp"

namespace cap::prune {

struct ContrastiveModule {
    std::string name;  // the recipe's [contrastive.<name>]
    std::unique_ptr<host::ContrastivePlugin> plugin;
    uint32_t sources = 0;  // cap_capture_source bits it asked for
    int banks = 0;         // banks received; a module joins the loss once it has one
};

class Objective {
public:
    // `teacher` holds the frozen teacher's logits per training example (needed with `distill`).
    Objective(const data::Task& task, double ce_weight, model::Pooling pooling, const host::DistillPlugin* distill,
              std::vector<ContrastiveModule>& modules, const TrainingSetEncoding* teacher, cap_exec_context context);

    // Forward pass of `model` with `masks` on `batch` (train or eval mode as the model is), and
    // the loss with its parts: "ce", "distill", "<module>.unsupervised", "<module>.supervised".
    train::StepLoss compute(model::Bert& model, const data::Batch& batch, const model::ForwardOptions& masks,
                            const cap_progress& progress) const;

private:
    double distill(const at::Tensor& student, const at::Tensor& teacher, const at::Tensor& labels,
                   const at::Tensor& valid, const cap_progress& progress, at::Tensor& surrogate) const;

    const data::Task& task_;
    double ce_weight_;
    model::Pooling pooling_;
    const host::DistillPlugin* distill_;
    std::vector<ContrastiveModule>& modules_;
    const TrainingSetEncoding* teacher_;
    cap_exec_context context_;
};

}  // namespace cap::prune
