// One pruning event of unstructured, importance-based pruning (taylor or wanda per weight, at
// the stages of one_shot or iterative): the importance pass with the current weight masks
// applied, the criterion's per-weight importance and new masks, checked before they are used.
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <vector>

#include "cap/criterion.h"
#include "data/task.hpp"
#include "model/weight_masks.hpp"
#include "plugin/criterion_plugin.hpp"
#include "prune/importance_pass.hpp"
#include "prune/objective.hpp"

namespace cap::prune {

struct WeightSelection {
    std::vector<at::Tensor> importance;  // per encoder linear, the weight's shape
    std::vector<at::Tensor> masks;       // after this event, float 0/1
};

// "row r, column c" of the first entry of a [out, in] tensor where `bad` holds; "" when none:
// how the host's checks name a weight.
std::string first_weight(const at::Tensor& bad);

// `current` holds the masks before the event (slot order: layer-major, EncoderLinear order).
WeightSelection select_weights(model::Bert& model, const data::Task& task, const host::CriterionPlugin& criterion,
                               const Objective& objective, const model::WeightMasks& current,
                               const cap_selection& selection, const ImportancePass& pass,
                               const cap_exec_context& context, const cap_progress& progress);

}  // namespace cap::prune
