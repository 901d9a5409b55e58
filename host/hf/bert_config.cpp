#include "hf/bert_config.hpp"

#include "hf/safetensors_format.hpp"
#include "util/error_text.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace cap::hf {

int64_t BertConfig::heads_in_layer(int64_t layer) const {
    auto it = pruned_heads.find(layer);
    return num_attention_heads - (it == pruned_heads.end() ? 0 : static_cast<int64_t>(it->second.size()));
}

std::vector<int64_t> BertConfig::kept_heads(int64_t layer) const {
    std::vector<int64_t> kept;
    auto it = pruned_heads.find(layer);
    for (int64_t h = 0; h < num_attention_heads; ++h)
        if (it == pruned_heads.end() || std::find(it->second.begin(), it->second.end(), h) == it->second.end())
            kept.push_back(h);
    return kept;
}

double BertConfig::parameter_count() const {
    const double h = static_cast<double>(hidden_size), i = static_cast<double>(intermediate_size);
    const double embeddings =
        (static_cast<double>(vocab_size) + static_cast<double>(max_position_embeddings) + type_vocab_size + 2) * h;
    const double layer = 4 * (h * h + h) + 2 * h * i + i + h + 4 * h;
    return embeddings + static_cast<double>(num_hidden_layers) * layer + h * h + h;
}

int64_t BertConfig::intermediate_in_layer(int64_t layer) const {
    return intermediate_sizes.empty() ? intermediate_size : intermediate_sizes.at(static_cast<size_t>(layer));
}

namespace {
int64_t positive(const nlohmann::json& j, const char* key, int64_t fallback, const std::string& source, bool required) {
    if (!j.contains(key)) {
        if (required) throw std::runtime_error(source + ": missing '" + key + "'");
        return fallback;
    }
    if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0)
        throw std::runtime_error(source + ": '" + key + "' must be a positive integer");
    return j[key].get<int64_t>();
}
double number(const nlohmann::json& j, const char* key, double fallback, const std::string& source) {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) throw std::runtime_error(source + ": '" + key + "' must be a number");
    return j[key].get<double>();
}
}  // namespace

BertConfig BertConfig::from_json(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) throw std::runtime_error(source + ": not a JSON object");
    BertConfig c;
    c.vocab_size = positive(j, "vocab_size", c.vocab_size, source, true);
    c.hidden_size = positive(j, "hidden_size", c.hidden_size, source, true);
    c.num_hidden_layers = positive(j, "num_hidden_layers", c.num_hidden_layers, source, true);
    c.num_attention_heads = positive(j, "num_attention_heads", c.num_attention_heads, source, true);
    c.intermediate_size = positive(j, "intermediate_size", c.intermediate_size, source, true);
    c.max_position_embeddings = positive(j, "max_position_embeddings", c.max_position_embeddings, source, false);
    c.type_vocab_size = positive(j, "type_vocab_size", c.type_vocab_size, source, false);
    c.layer_norm_eps = number(j, "layer_norm_eps", c.layer_norm_eps, source);
    // A zero or negative epsilon makes LayerNorm divide by zero (or take a root of a negative).
    if (!(c.layer_norm_eps > 0) || !std::isfinite(c.layer_norm_eps))
        throw std::runtime_error(source + ": 'layer_norm_eps' must be a positive number (it is " +
                                 j["layer_norm_eps"].dump() + ")");
    c.hidden_dropout_prob = number(j, "hidden_dropout_prob", c.hidden_dropout_prob, source);
    c.attention_probs_dropout_prob = number(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, source);
    c.classifier_dropout = number(j, "classifier_dropout", -1, source);
    c.initializer_range = number(j, "initializer_range", c.initializer_range, source);
    if (j.contains("pad_token_id") && j["pad_token_id"].is_number_integer())
        c.pad_token_id = j["pad_token_id"].get<int64_t>();
    // Sizes that would not fit in memory are refused here, before anything is allocated.
    const double parameters = c.parameter_count();
    const double bytes = parameters * 4;
    const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    if (memory > 0 && bytes > memory) {
        char text[160];
        std::snprintf(text, sizeof text, "%.3g parameters (%.3g GiB as float32), more than the %.1f GiB", parameters,
                      bytes / double(1u << 30), memory / double(1u << 30));
        throw std::runtime_error(source + ": the model it describes has " + text +
                                 " of memory here: check its sizes (hidden_size, num_hidden_layers, "
                                 "intermediate_size, vocab_size)");
    }
    if (c.hidden_size % c.num_attention_heads != 0)
        throw std::runtime_error(source + ": hidden_size is not a multiple of num_attention_heads");
    const std::string act = j.value("hidden_act", "gelu");
    if (act != "gelu")
        throw std::runtime_error(source + ": hidden_act '" + act + "' is not supported (only \"gelu\", the erf form)");
    if (j.contains("position_embedding_type") && j["position_embedding_type"] != "absolute")
        throw std::runtime_error(source + ": only absolute position embeddings are supported");
    if (j.contains("id2label") && j["id2label"].is_object()) {
        std::map<int64_t, std::string> by_id;
        for (auto& [k, v] : j["id2label"].items()) by_id[std::stoll(k)] = v.get<std::string>();
        for (auto& [id, name] : by_id) {
            if (id != static_cast<int64_t>(c.labels.size()))
                throw std::runtime_error(source + ": id2label ids are not 0..n-1");
            c.labels.push_back(name);
        }
    } else if (j.contains("num_labels") && j["num_labels"].is_number_integer()) {
        for (int64_t i = 0; i < j["num_labels"].get<int64_t>(); ++i) c.labels.push_back("LABEL_" + std::to_string(i));
    }
    if (j.contains("pruned_heads") && j["pruned_heads"].is_object())
        for (auto& [k, v] : j["pruned_heads"].items()) {
            int64_t layer = std::stoll(k);
            if (layer < 0 || layer >= c.num_hidden_layers)
                throw std::runtime_error(source + ": pruned_heads names layer " + k);
            std::vector<int64_t> heads = v.get<std::vector<int64_t>>();
            std::sort(heads.begin(), heads.end());
            heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
            for (int64_t h : heads)
                if (h < 0 || h >= c.num_attention_heads)
                    throw std::runtime_error(source + ": pruned_heads names head " + std::to_string(h));
            if (!heads.empty()) c.pruned_heads[layer] = heads;
        }
    if (j.contains("intermediate_sizes")) {
        c.intermediate_sizes = j["intermediate_sizes"].get<std::vector<int64_t>>();
        if (static_cast<int64_t>(c.intermediate_sizes.size()) != c.num_hidden_layers)
            throw std::runtime_error(source + ": intermediate_sizes needs one entry per layer");
        for (int64_t v : c.intermediate_sizes)
            if (v < 0 || v > c.intermediate_size)
                throw std::runtime_error(source + ": intermediate_sizes out of range");
    }
    return c;
}

BertConfig BertConfig::load(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    nlohmann::json j;
    try {
        in >> j;
    } catch (const std::exception& e) {
        throw std::runtime_error(file.string() + " is not valid JSON: " + util::error_text(e));
    }
    return from_json(j, file.string());
}

nlohmann::ordered_json BertConfig::to_json(const nlohmann::json& original) const {
    nlohmann::ordered_json j;
    j["architectures"] = original.value("architectures", nlohmann::json::array({"BertModel"}));
    j["model_type"] = "bert";
    j["vocab_size"] = vocab_size;
    j["hidden_size"] = hidden_size;
    j["num_hidden_layers"] = num_hidden_layers;
    j["num_attention_heads"] = num_attention_heads;
    j["intermediate_size"] = intermediate_size;
    j["max_position_embeddings"] = max_position_embeddings;
    j["type_vocab_size"] = type_vocab_size;
    j["layer_norm_eps"] = layer_norm_eps;
    j["hidden_dropout_prob"] = hidden_dropout_prob;
    j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
    j["classifier_dropout"] =
        classifier_dropout < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(classifier_dropout);
    j["initializer_range"] = initializer_range;
    j["pad_token_id"] = pad_token_id;
    j["hidden_act"] = "gelu";
    j["position_embedding_type"] = "absolute";
    if (!labels.empty()) {
        nlohmann::ordered_json id2label, label2id;
        for (size_t i = 0; i < labels.size(); ++i) {
            id2label[std::to_string(i)] = labels[i];
            label2id[labels[i]] = i;
        }
        j["id2label"] = id2label;
        j["label2id"] = label2id;
    }
    if (!pruned_heads.empty()) {
        nlohmann::ordered_json p = nlohmann::ordered_json::object();
        for (auto& [layer, heads] : pruned_heads) p[std::to_string(layer)] = heads;
        j["pruned_heads"] = p;
    }
    if (!intermediate_sizes.empty()) j["intermediate_sizes"] = intermediate_sizes;
    for (auto& [k, v] : original.items())
        if (!j.contains(k) && k != "pruned_heads" && k != "intermediate_sizes") j[k] = v;
    return j;
}

// config.json against the checkpoint's tensors, before a model of config.json's sizes is
// allocated: a typo there (num_hidden_layers 100000) is an error naming it, not gigabytes
// allocated and then a shape mismatch.
void check_config_against_weights(const BertConfig& config, const SafetensorsHeader& header,
                                  const std::filesystem::path& config_file, const std::filesystem::path& weights_file) {
    int64_t layers = 0;
    for (const auto& e : header.entries) {
        const std::string suffix = "embeddings.word_embeddings.weight";
        const bool embeddings =
            e.name.size() >= suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0;
        if (embeddings && e.shape.size() == 2 && (e.shape[0] != config.vocab_size || e.shape[1] != config.hidden_size))
            throw std::runtime_error(config_file.string() + ": vocab_size " + std::to_string(config.vocab_size) +
                                     " and hidden_size " + std::to_string(config.hidden_size) + " do not match " +
                                     weights_file.string() + ", whose " + e.name + " is [" +
                                     std::to_string(e.shape[0]) + ", " + std::to_string(e.shape[1]) + "]");
        const auto at = e.name.find("encoder.layer.");
        if (at == std::string::npos) continue;
        const char* digits = e.name.c_str() + at + std::strlen("encoder.layer.");
        char* end = nullptr;
        const long long index = std::strtoll(digits, &end, 10);
        if (end != digits && *end == '.' && index >= 0 && index < (1LL << 30))
            layers = std::max<int64_t>(layers, index + 1);
    }
    if (layers > 0 && config.num_hidden_layers > layers)
        throw std::runtime_error(config_file.string() + ": num_hidden_layers is " +
                                 std::to_string(config.num_hidden_layers) + " but " + weights_file.string() +
                                 " holds " + std::to_string(layers) + " layers");
}

void check_vocabulary_size(const BertConfig& config, size_t tokens, const std::filesystem::path& config_file,
                           const std::filesystem::path& vocab_file) {
    if (static_cast<int64_t>(tokens) > config.vocab_size)
        throw std::runtime_error(config_file.string() + ": vocab_size is " + std::to_string(config.vocab_size) +
                                 " but " + vocab_file.string() + " has " + std::to_string(tokens) + " tokens");
}

}  // namespace cap::hf
