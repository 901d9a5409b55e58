#include "model/compaction.hpp"

#include <ATen/ATen.h>

#include <set>
#include <stdexcept>
#include <string>

namespace cap::model {

namespace {

at::Tensor index(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); }

// Rows (dim 0) or columns (dim 1) of a head-structured matrix for the kept heads, given as
// positions among the layer's current heads.
at::Tensor take_heads(const at::Tensor& t, const std::vector<int64_t>& positions, int64_t head_dim, int64_t dim) {
    std::vector<int64_t> rows;
    for (int64_t p : positions)
        for (int64_t i = 0; i < head_dim; ++i) rows.push_back(p * head_dim + i);
    return t.index_select(dim, index(rows).to(t.device()));
}

}  // namespace

Bert compact(Bert& model, const at::Tensor& head_mask_in, const at::Tensor& ffn_mask_in) {
    const BertConfig& old = model->config();
    const int64_t L = old.num_hidden_layers, H = old.num_attention_heads, hd = old.head_dim();
    at::Tensor head_mask = head_mask_in.defined() ? head_mask_in.detach().to(at::kCPU) : at::Tensor();
    at::Tensor ffn_mask = ffn_mask_in.defined() ? ffn_mask_in.detach().to(at::kCPU) : at::Tensor();
    if (head_mask.defined() && (head_mask.dim() != 2 || head_mask.size(0) != L || head_mask.size(1) != H))
        throw std::invalid_argument("head mask must be [layers, heads]");
    if (ffn_mask.defined()) {
        if (!old.intermediate_sizes.empty()) throw std::invalid_argument("the model's FFN is compacted already");
        if (ffn_mask.dim() != 2 || ffn_mask.size(0) != L || ffn_mask.size(1) != old.intermediate_size)
            throw std::invalid_argument("FFN mask must be [layers, intermediate_size]");
    }

    BertConfig config = old;
    std::vector<std::vector<int64_t>> head_positions(L), neurons(L);
    bool uniform_ffn = true;
    for (int64_t l = 0; l < L; ++l) {
        const auto kept_before = old.kept_heads(l);
        std::vector<int64_t> pruned = old.pruned_heads.count(l) ? old.pruned_heads.at(l) : std::vector<int64_t>{};
        for (size_t p = 0; p < kept_before.size(); ++p) {
            const int64_t h = kept_before[p];
            if (head_mask.defined() && head_mask[l][h].item<float>() == 0)
                pruned.push_back(h);
            else
                head_positions[l].push_back(static_cast<int64_t>(p));
        }
        std::sort(pruned.begin(), pruned.end());
        if (!pruned.empty()) config.pruned_heads[l] = pruned;
        for (int64_t n = 0; n < old.intermediate_in_layer(l); ++n)
            if (!ffn_mask.defined() || ffn_mask[l][n].item<float>() != 0) neurons[l].push_back(n);
        if (neurons[l].size() != neurons[0].size()) uniform_ffn = false;
    }
    config.intermediate_sizes.clear();
    if (uniform_ffn) {
        config.intermediate_size = static_cast<int64_t>(neurons[0].size());
    } else {
        for (const auto& n : neurons) config.intermediate_sizes.push_back(static_cast<int64_t>(n.size()));
    }

    Bert small(config, model->head());
    const at::Device device = model->parameters().front().device();
    small->to(device);  // the compacted model lives where the pruned one does
    torch::NoGradGuard no_grad;
    for (int64_t l = 0; l < L; ++l) {
        auto& from = model->layer(l);
        auto& to = small->layer(l);
        const auto& heads = head_positions[l];
        const at::Tensor keep_neurons = index(neurons[l]).to(device);
        for (auto [src, dst] : {std::make_pair(from.attention->self->query, to.attention->self->query),
                                std::make_pair(from.attention->self->key, to.attention->self->key),
                                std::make_pair(from.attention->self->value, to.attention->self->value)}) {
            dst->weight.copy_(take_heads(src->weight, heads, hd, 0));
            dst->bias.copy_(take_heads(src->bias, heads, hd, 0));
        }
        to.attention->output->dense->weight.copy_(take_heads(from.attention->output->dense->weight, heads, hd, 1));
        to.intermediate->dense->weight.copy_(from.intermediate->dense->weight.index_select(0, keep_neurons));
        to.intermediate->dense->bias.copy_(from.intermediate->dense->bias.index_select(0, keep_neurons));
        to.output->dense->weight.copy_(from.output->dense->weight.index_select(1, keep_neurons));
    }
    // Everything else (embeddings, biases of the output projections, LayerNorms, pooler, head)
    // keeps its shape and is copied as it is.
    std::set<std::string> done;
    for (int64_t l = 0; l < L; ++l) {
        const std::string prefix = "bert.encoder.layer." + std::to_string(l) + ".";
        for (const char* name : {"attention.self.query.weight", "attention.self.query.bias",
                                 "attention.self.key.weight", "attention.self.key.bias", "attention.self.value.weight",
                                 "attention.self.value.bias", "attention.output.dense.weight",
                                 "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight"})
            done.insert(prefix + name);
    }
    auto src = model->named_parameters();
    for (auto& p : small->named_parameters())
        if (!done.count(p.key())) p.value().copy_(src[p.key()]);
    small->eval();
    return small;
}

void zero_pruned_weights(Bert& model, const at::Tensor& head_mask, const at::Tensor& ffn_mask) {
    const BertConfig& c = model->config();
    if (!c.pruned_heads.empty() || !c.intermediate_sizes.empty())
        throw std::invalid_argument("zero_pruned_weights() needs an uncompacted model");
    const int64_t hd = c.head_dim();
    torch::NoGradGuard no_grad;
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
        auto& layer = model->layer(l);
        if (head_mask.defined()) {
            // One 0/1 factor per row of Q/K/V (and per column of the output), head by head.
            at::Tensor keep = head_mask[l].detach().to(at::kCPU).to(at::kFloat).repeat_interleave(hd);
            keep = keep.to(layer.attention->self->query->weight.device());
            for (auto& lin : {layer.attention->self->query, layer.attention->self->key, layer.attention->self->value}) {
                lin->weight.mul_(keep.unsqueeze(1));
                lin->bias.mul_(keep);
            }
            layer.attention->output->dense->weight.mul_(keep.unsqueeze(0));
        }
        if (ffn_mask.defined()) {
            at::Tensor keep = ffn_mask[l].detach().to(layer.intermediate->dense->weight.device()).to(at::kFloat);
            layer.intermediate->dense->weight.mul_(keep.unsqueeze(1));
            layer.intermediate->dense->bias.mul_(keep);
            layer.output->dense->weight.mul_(keep.unsqueeze(0));
        }
    }
}

}  // namespace cap::model
