#include "prune/linear_evidence.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

#include "cap/plugin_torch.hpp"

namespace cap::prune {

// A linear's role is its EncoderLinear + 1 (score_masks.cpp relies on it too).
static_assert(static_cast<int>(model::EncoderLinear::kQuery) + 1 == CAP_LINEAR_QUERY);
static_assert(static_cast<int>(model::EncoderLinear::kAttentionOutput) + 1 == CAP_LINEAR_ATTENTION_OUTPUT);
static_assert(static_cast<int>(model::EncoderLinear::kOutput) + 1 == CAP_LINEAR_OUTPUT);

namespace {

bool attention_role(cap_linear_role role) { return role <= CAP_LINEAR_ATTENTION_OUTPUT; }

std::string mib(double bytes) {
    if (bytes < 1024.0 * 1024.0) return fmt::format("{:.1f} KiB", bytes / 1024.0);
    return fmt::format("{:.1f} MiB", bytes / (1024.0 * 1024.0));
}

}  // namespace

LinearViews::LinearViews(const std::vector<LinearTensors>& linears, int32_t head_size,
                         const std::vector<at::Tensor>& masks)
    : head_size_(head_size) {
    if (!masks.empty() && masks.size() != linears.size())
        throw std::invalid_argument("LinearViews: " + std::to_string(masks.size()) + " masks for " +
                                    std::to_string(linears.size()) + " linears");
    tensors_.resize(linears.size() * 5);
    groups_.resize(linears.size());
    for (size_t i = 0; i < linears.size(); ++i) {
        const LinearTensors& l = linears[i];
        cap_unit_group& g = groups_[i];
        g = {};
        g.struct_size = sizeof(g);
        g.name = l.name.c_str();
        g.unit_kind = CAP_UNITS_WEIGHTS;
        g.layer = l.layer;
        g.linear_role = l.role;
        g.head_size = attention_role(l.role) ? head_size : 0;
        auto view = [&](const at::Tensor& t, size_t slot) -> const DLTensor* {
            if (!t.defined()) return nullptr;
            tensors_[i * 5 + slot] = cap::to_dl(t);
            return &tensors_[i * 5 + slot];
        };
        if (!masks.empty()) g.mask = view(masks[i], 4);
        g.weight = view(l.weight, 0);
        g.weight_grad = view(l.weight_grad, 1);
        g.input_sq_norms = view(l.input_sq_norms, 2);
        g.input_gram = view(l.input_gram, 3);
        (attention_role(l.role) ? heads_ : ffn_).push_back(&g);
        all_.push_back(&g);
    }
}

void LinearViews::attach(cap_unit_group& heads, cap_unit_group& ffn) const {
    heads.head_size = head_size_;
    heads.linears = heads_.empty() ? nullptr : heads_.data();
    heads.linear_count = static_cast<uint32_t>(heads_.size());
    ffn.linears = ffn_.empty() ? nullptr : ffn_.data();
    ffn.linear_count = static_cast<uint32_t>(ffn_.size());
}

LinearEvidence::LinearEvidence(model::Bert& model, uint32_t needs)
    : needs_(needs & kLinearNeeds), head_size_(static_cast<int32_t>(model->config().head_dim())) {
    if (!needs_) return;
    const int64_t layers = model->config().num_hidden_layers;
    for (int64_t l = 0; l < layers; ++l)
        for (int w = 0; w < model::kEncoderLinears; ++w) {
            const auto which = static_cast<model::EncoderLinear>(w);
            LinearTensors t;
            t.name = "encoder.layer." + std::to_string(l) + "." + model::encoder_linear_path(which);
            t.layer = static_cast<int32_t>(l);
            t.role = static_cast<cap_linear_role>(w + 1);
            at::Tensor weight = model->linear_weight(l, which);
            t.out_features = weight.size(0);
            t.in_features = weight.size(1);
            if (needs_ & CAP_NEEDS_WEIGHTS) t.weight = weight.detach();
            if (needs_ & CAP_NEEDS_WEIGHT_GRADS) grad_weights_.push_back(weight);
            linears_.push_back(std::move(t));
        }
    if (needs_ & (CAP_NEEDS_INPUT_NORMS | CAP_NEEDS_INPUT_GRAM))
        observer_ = [this](int64_t layer, model::EncoderLinear which, const at::Tensor& input) {
            at::NoGradGuard no_grad;
            LinearTensors& t = linears_[static_cast<size_t>(layer * model::kEncoderLinears + static_cast<int>(which))];
            // Padding tokens are left out: their rows are zeroed before any sum.
            at::Tensor x = input.detach().to(at::kFloat);
            if (attention_mask_.defined()) x = x * attention_mask_.to(x.device(), at::kFloat).unsqueeze(-1);
            x = x.reshape({-1, x.size(-1)});
            if (needs_ & CAP_NEEDS_INPUT_NORMS) t.input_sq_norms = x.pow(2).sum(0);
            if (needs_ & CAP_NEEDS_INPUT_GRAM) t.input_gram = at::matmul(x.t(), x);
        };
}

const model::InputObserver* LinearEvidence::observer(const at::Tensor& attention_mask) {
    attention_mask_ = attention_mask;
    return observer_ ? &observer_ : nullptr;
}

void LinearEvidence::set_weight_grads(const std::vector<at::Tensor>& grads) {
    if (!(needs_ & CAP_NEEDS_WEIGHT_GRADS)) return;
    for (size_t i = 0; i < linears_.size(); ++i) {
        const at::Tensor& g = i < grads.size() ? grads[i] : at::Tensor();
        linears_[i].weight_grad = g.defined() ? g.detach() : at::zeros_like(grad_weights_[i]);
    }
}

std::string LinearEvidence::describe() const {
    double grads = 0, norms = 0, grams = 0;
    for (const auto& t : linears_) {
        grads += double(t.out_features * t.in_features) * 4;
        norms += double(t.in_features) * 4;
        grams += double(t.in_features * t.in_features) * 4;
    }
    std::vector<std::string> parts;
    if (needs_ & CAP_NEEDS_WEIGHTS) parts.push_back("weights (views, no copy)");
    if (needs_ & CAP_NEEDS_WEIGHT_GRADS) parts.push_back("weight gradients (" + mib(grads) + ")");
    if (needs_ & CAP_NEEDS_INPUT_NORMS) parts.push_back("input norms (" + mib(norms) + ")");
    if (needs_ & CAP_NEEDS_INPUT_GRAM) parts.push_back("input Gram matrices (" + mib(grams) + ")");
    return fmt::format("{} of {} linears", fmt::join(parts, ", "), linears_.size());
}

}  // namespace cap::prune
