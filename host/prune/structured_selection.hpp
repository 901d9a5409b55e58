// One pruning event of structured pruning: the importance pass (eval mode, the full training
// loss, gradients w.r.t. the head and FFN masks handed to the criterion batch by batch), then
// the criterion's importance scores and its new masks, checked before they are used.
#pragma once

#include <ATen/Tensor.h>

#include <stdexcept>
#include <vector>

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

// A selection broke [constraints] with on_violation = "stop": the run can go on from its last
// checkpoint once the recipe allows it (cap run --resume DIR --set constraints.on_violation=warn).
struct ConstraintViolation : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A layer left with fewer heads than [constraints] min_heads_per_layer. With on_violation =
// "warn" select_structured logs each new one and goes on; the stage event records them.
struct HeadShortfall {
    int64_t layer = 0;
    int64_t heads_kept = 0;
};

struct SelectionResult {
    StructuredMasks importance;  // the criterion's scores, mask-shaped
    StructuredMasks masks;       // after this event
};

// Layers of `heads` ([layers, heads], 1 = kept) with fewer than `min_heads` heads kept.
std::vector<HeadShortfall> head_shortfalls(const at::Tensor& heads, int64_t min_heads);

SelectionResult select_structured(model::Bert& model, const data::Task& task, const host::CriterionPlugin& criterion,
                                  const Objective& objective, const StructuredMasks& current,
                                  const cap_selection& selection, const ImportancePass& pass,
                                  const cap_exec_context& context, const cap_progress& progress,
                                  bool stop_on_violation);

}  // namespace cap::prune
