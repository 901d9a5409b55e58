// Pieces the structured (CAP-f) and unstructured (CAP-m, CAP-soft) pruning runs share: creating
// the recipe's plugins, handing captured banks to the contrastive modules, saving model folders.
#pragma once

#include <ATen/Tensor.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plugin/instance.hpp"
#include "prune/objective.hpp"
#include "prune/training_set_encoding.hpp"
#include "recipe/resolve.hpp"
#include "run/model_source.hpp"

namespace cap::run {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<host::PluginInstance> instantiate(const recipe::PluginUse& use);

// The student: the pre-trained model with a freshly initialised head (seeded from the run's
// seed), on `device`.
ModelSource load_student(const recipe::ResolvedRecipe& r, const data::Task& task, const at::Device& device);

// The schedule's view of `model`'s shape.
cap_model_shape shape_of(const model::Bert& model);

// One module per [contrastive.<name>] table, with the capture sources it asked for.
std::vector<prune::ContrastiveModule> make_contrastive_modules(const recipe::ResolvedRecipe& r);

bool anyone_wants(const std::vector<prune::ContrastiveModule>& modules, uint32_t source);

// Hands one capture to every module that asked for its source: each gets its own DLPack
// handle on the same storage, so sharing costs no copy.
void deliver_bank(std::vector<prune::ContrastiveModule>& modules, uint32_t source, int32_t snapshot, int64_t step,
                  double sparsity, const at::Tensor& representations, const at::Tensor& labels,
                  const cap_exec_context& context);

// The frozen teacher's logits (when `logits`) and representations (when `pooling` is not
// kNone) over the training set, computed once for the whole run; empty when neither is asked.
prune::TrainingSetEncoding encode_teacher(model::Bert& teacher, const data::Task& task, model::Pooling pooling,
                                          bool logits, int64_t batch_size, const at::Device& device);

// Saves `model` into `folder` through a temporary sibling, so a folder is complete or absent.
void save_model_folder(model::Bert& model, const std::filesystem::path& folder, const ModelSource& source);

}  // namespace cap::run
