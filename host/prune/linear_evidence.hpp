// ABI 1.2: what a structured criterion sees of the encoder's linears during an importance pass
// (cap/criterion.h): per linear its weight, this batch's weight gradient and input statistics,
// hung on the heads and ffn groups as their `linears`. Only what the criterion's needs ask for
// is gathered, on the model's device.
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <vector>

#include "cap/criterion.h"
#include "model/bert.hpp"

namespace cap::prune {

// The needs that ask for the linears.
constexpr uint32_t kLinearNeeds =
    CAP_NEEDS_WEIGHTS | CAP_NEEDS_WEIGHT_GRADS | CAP_NEEDS_INPUT_NORMS | CAP_NEEDS_INPUT_GRAM;

struct LinearTensors {
    std::string name;  // "encoder.layer.3.attention.self.query"
    int32_t layer = 0;
    cap_linear_role role = CAP_LINEAR_QUERY;
    int64_t out_features = 0, in_features = 0;
    at::Tensor weight, weight_grad, input_sq_norms, input_gram;  // undefined: not asked for
};

// ABI views of `linears`: query/key/value/attention output go to the heads group, intermediate
// and output to the ffn group. With `masks` (one per linear), the views are an unstructured
// criterion's groups, each with its mask. The tensors must outlive this object.
class LinearViews {
public:
    LinearViews(const std::vector<LinearTensors>& linears, int32_t head_size,
                const std::vector<at::Tensor>& masks = {});
    LinearViews(const LinearViews&) = delete;  // the groups point into this object
    LinearViews& operator=(const LinearViews&) = delete;
    // Sets linears, linear_count and head_size of the two structured groups.
    void attach(cap_unit_group& heads, cap_unit_group& ffn) const;
    // Every linear's group, in linear order (an unstructured criterion's groups).
    const std::vector<const cap_unit_group*>& all() const { return all_; }

private:
    std::vector<DLTensor> tensors_;  // sized once: the groups point into it
    std::vector<cap_unit_group> groups_;
    std::vector<const cap_unit_group*> heads_, ffn_, all_;
    int32_t head_size_;
};

// Gathers LinearTensors from the model, batch by batch.
class LinearEvidence {
public:
    LinearEvidence(model::Bert& model, uint32_t needs);
    bool wanted() const { return needs_ != 0; }
    // The weights whose gradients the pass must take (NEEDS_WEIGHT_GRADS), in linear order.
    const std::vector<at::Tensor>& grad_weights() const { return grad_weights_; }
    // For the batch's forward pass: null unless input statistics are asked for. The batch's
    // attention mask [B, S] leaves padding tokens out.
    const model::InputObserver* observer(const at::Tensor& attention_mask);
    // This batch's d loss / d weight, in grad_weights() order (an undefined one reads as zeros).
    void set_weight_grads(const std::vector<at::Tensor>& grads);
    const std::vector<LinearTensors>& linears() const { return linears_; }
    int32_t head_size() const { return head_size_; }
    // What the pass gathers and the memory it takes, for the log.
    std::string describe() const;

private:
    uint32_t needs_;
    int32_t head_size_;
    std::vector<LinearTensors> linears_;  // layer-major, EncoderLinear order within a layer
    std::vector<at::Tensor> grad_weights_;
    at::Tensor attention_mask_;
    model::InputObserver observer_;
};

}  // namespace cap::prune
