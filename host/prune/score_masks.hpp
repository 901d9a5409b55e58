// The host's side of a score-based (unstructured) criterion: one mask per encoder linear
// (model::WeightMasks), learnable scores when the criterion needs them, and the calls into the
// plugin around every training step:
//   before the forward pass   binarize(point)       masks from the scores (or the weights)
//   in the forward pass       W * M, with the gradient passed straight through to the scores
//   after backward            finish_gradients()    binarize_backward (if the plugin has it),
//                                                   then the regularizer's gradient added
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <vector>

#include "cap/criterion.h"
#include "model/bert.hpp"
#include "model/weight_masks.hpp"
#include "plugin/criterion_plugin.hpp"

namespace cap::prune {

class ScoreMasks {
public:
    // Scores are created (init_scores, or zeros) when the criterion needs them.
    ScoreMasks(model::Bert& model, const host::CriterionPlugin& criterion, const cap_exec_context& context);

    bool has_scores() const { return has_scores_; }
    std::vector<at::Tensor> scores() const { return masks_.scores(); }
    const model::WeightMasks& masks() const { return masks_; }
    const model::WeightTransform* transform() const { return &transform_; }

    // New masks at `point` (its final_target must be filled) and `progress`.
    void binarize(const cap_schedule_point& point, const cap_progress& progress);

    // The criterion's penalty on the scores at `point`, weight included; its gradient is kept for
    // finish_gradients(). 0 when the criterion has none.
    double regularizer(const cap_schedule_point& point, const cap_progress& progress);

    // As strict as check-plugin, at the moments that matter rather than every step (a check is a
    // read-back): every mask 0/1 and every score finite, else an error naming the plugin, `when`
    // ("at step 120"), the matrix and the first bad entry.
    void check(const std::string& when) const;

    // After backward: the scores' gradient (dL/dM, passed straight through) mapped by the
    // criterion's binarize_backward when it has one, plus the last regularizer's gradient.
    void finish_gradients(const cap_schedule_point& point, const cap_progress& progress);

private:
    // Borrowed views of every slot, rebuilt per call (the masks change every step).
    struct GroupViews {
        std::vector<at::Tensor> alive;  // detached views whose shapes the DLTensors point into
        std::vector<DLTensor> tensors;
        std::vector<cap_unit_group> groups;
        std::vector<const cap_unit_group*> pointers;
    };
    GroupViews views() const;

    model::Bert& model_;
    const host::CriterionPlugin& criterion_;
    cap_exec_context context_;
    model::WeightMasks masks_;
    model::WeightTransform transform_;
    bool has_scores_ = false;
    bool needs_weights_ = false;
    std::vector<at::Tensor> regularizer_grads_;
};

}  // namespace cap::prune
