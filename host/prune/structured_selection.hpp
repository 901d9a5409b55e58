// One pruning event of structured pruning: the importance pass (eval mode, the full training
// loss, gradients w.r.t. the head and FFN masks handed to the criterion batch by batch), then
// the criterion's importance scores and its new masks, checked before they are used.
#pragma once

#include <ATen/Tensor.h>

#include "cap/criterion.h"
#include "data/task.hpp"
#include "plugin/criterion_plugin.hpp"
#include "prune/importance_pass.hpp"
#include "prune/objective.hpp"

namespace cap::prune {

struct StructuredMasks {
    at::Tensor heads;  // [layers, heads] float32, 1 = kept
    at::Tensor ffn;    // [layers, intermediate] float32
    model::ForwardOptions forward() const;
    int64_t pruned_heads() const;
    int64_t pruned_neurons() const;
};

struct SelectionResult {
    StructuredMasks importance;  // the criterion's scores, mask-shaped
    StructuredMasks masks;       // after this event
};

SelectionResult select_structured(model::Bert& model, const data::Task& task, const host::CriterionPlugin& criterion,
                                  const Objective& objective, const StructuredMasks& current,
                                  const cap_selection& selection, const ImportancePass& pass,
                                  const cap_exec_context& context, const cap_progress& progress);

}  // namespace cap::prune
