// Unstructured masks on the six encoder linears of every layer: each runs as W * M, with M
// either fixed (a selection already made) or binarised from learnable scores S every forward
// pass. For scores, the forward uses M = binarize(S) and the backward passes the gradient
// straight through: dL/dS = dL/dM = (dL/dW') * W, the movement-pruning rule.
#pragma once

#include <ATen/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "model/bert.hpp"

namespace cap::model {

class WeightMasks {
public:
    struct Slot {
        int64_t layer;
        EncoderLinear which;
        std::string name;   // "bert.encoder.layer.<l>.<path>", the criterion's group name
        at::Tensor mask;    // float 0/1, the weight's shape
        at::Tensor scores;  // learnable (requires grad); undefined without scores
    };

    // One slot per encoder linear of `model`, every mask all ones.
    explicit WeightMasks(Bert& model);

    std::vector<Slot>& slots() { return slots_; }
    const std::vector<Slot>& slots() const { return slots_; }

    // Creates learnable scores (leaf tensors that require grad), all at `initial`.
    void create_scores(double initial);
    std::vector<at::Tensor> scores() const;

    // Recomputes every slot's mask in one call (so a criterion can rank globally); `binarize`
    // gets the scores in slot order (none without scores) and returns one 0/1 mask per slot.
    using Binarizer = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>& scores)>;
    void binarize(const Binarizer& binarize);

    // The forward hook: W * M, plus the straight-through path to the scores when they exist.
    WeightTransform transform() const;

    // Fraction of masked weights that are kept.
    double kept_fraction() const;

private:
    std::vector<Slot> slots_;
};

}  // namespace cap::model
