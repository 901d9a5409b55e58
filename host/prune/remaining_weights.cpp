#include "prune/remaining_weights.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <map>
#include <stdexcept>

namespace cap::prune {

int64_t RemainingWeights::masked_total() const {
    int64_t n = 0;
    for (const auto& m : matrices) n += m.total;
    return n;
}

int64_t RemainingWeights::masked_kept() const {
    int64_t n = 0;
    for (const auto& m : matrices) n += m.kept;
    return n;
}

double RemainingWeights::percent() const {
    const int64_t total = encoder_total();
    return total > 0 ? 100.0 * double(masked_kept() + unmasked) / double(total) : 100.0;
}

RemainingWeights count_remaining(model::Bert& model, const std::vector<int64_t>& kept) {
    RemainingWeights out;
    const int64_t layers = model->config().num_hidden_layers;
    if (kept.size() != static_cast<size_t>(layers * model::kEncoderLinears))
        throw std::invalid_argument("count_remaining: one kept count per encoder linear expected");
    std::map<std::string, bool> masked;
    for (int64_t l = 0; l < layers; ++l)
        for (int k = 0; k < model::kEncoderLinears; ++k) {
            const auto which = static_cast<model::EncoderLinear>(k);
            const int64_t total = model->linear_weight(l, which).numel();
            const int64_t n = kept[static_cast<size_t>(l * model::kEncoderLinears + k)];
            if (n < 0 || n > total) throw std::invalid_argument("count_remaining: kept count out of range");
            out.matrices.push_back({l, model::encoder_linear_path(which), n, total});
            masked[model::encoder_linear_name(l, which) + ".weight"] = true;
        }
    for (const auto& p : model->named_parameters())
        if (p.key().find("encoder") != std::string::npos && !masked.count(p.key())) out.unmasked += p.value().numel();
    return out;
}

RemainingWeights count_remaining(model::Bert& model, const model::WeightMasks& masks) {
    std::vector<int64_t> kept;
    for (const auto& s : masks.slots()) kept.push_back(s.mask.sum().item<int64_t>());
    return count_remaining(model, kept);
}

std::string remaining_weights_csv(const RemainingWeights& c) {
    std::string out = "layer,matrix,kept,total,remaining_percent\n";
    auto row = [&](const std::string& layer, const std::string& matrix, int64_t kept, int64_t total) {
        out += fmt::format("{},{},{},{},{:.4f}\n", layer, matrix, kept, total,
                           total > 0 ? 100.0 * double(kept) / double(total) : 100.0);
    };
    std::map<int64_t, std::pair<int64_t, int64_t>> per_layer;
    for (const auto& m : c.matrices) {
        row(std::to_string(m.layer), m.matrix, m.kept, m.total);
        per_layer[m.layer].first += m.kept;
        per_layer[m.layer].second += m.total;
    }
    for (const auto& [layer, kt] : per_layer) row(std::to_string(layer), "all", kt.first, kt.second);
    row("all", "masked", c.masked_kept(), c.masked_total());
    row("all", "biases_and_layernorm", c.unmasked, c.unmasked);
    row("all", "encoder", c.masked_kept() + c.unmasked, c.encoder_total());
    return out;
}

std::vector<std::string> remaining_weights_lines(const RemainingWeights& c) {
    std::vector<std::string> lines;
    std::map<int64_t, std::string> text;
    std::map<int64_t, std::pair<int64_t, int64_t>> per_layer;
    for (const auto& m : c.matrices) {
        const auto dot = m.matrix.rfind('.');
        const std::string shortname = m.matrix.substr(0, m.matrix.find('.')) + "." + m.matrix.substr(dot + 1);
        text[m.layer] += fmt::format(" {} {:.2f}%", shortname, 100.0 * double(m.kept) / double(m.total));
        per_layer[m.layer].first += m.kept;
        per_layer[m.layer].second += m.total;
    }
    for (const auto& [layer, kt] : per_layer)
        lines.push_back(fmt::format("layer {}: {:.2f}% of {} weights kept;{}", layer,
                                    100.0 * double(kt.first) / double(kt.second), kt.second, text[layer]));
    lines.push_back(
        fmt::format("remaining weights (global, as counts_parameters.py): {:.2f}% of {} encoder parameters "
                    "({} masked weights, {} biases and LayerNorm counted as remaining)",
                    c.percent(), c.encoder_total(), c.masked_total(), c.unmasked));
    return lines;
}

}  // namespace cap::prune
