// BERT's hyper-parameters as Hugging Face's config.json spells them, plus what pruning changes:
// `pruned_heads` (Hugging Face's own key) and `intermediate_sizes` (cap's: per-layer FFN widths
// after compaction, which Hugging Face cannot express).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cap::hf {

struct BertConfig {
    int64_t vocab_size = 30522;
    int64_t hidden_size = 768;
    int64_t num_hidden_layers = 12;
    int64_t num_attention_heads = 12;
    int64_t intermediate_size = 3072;
    int64_t max_position_embeddings = 512;
    int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;
    double classifier_dropout = -1;  // < 0: use hidden_dropout_prob (Hugging Face's null)
    double initializer_range = 0.02;
    int64_t pad_token_id = 0;
    std::vector<std::string> labels;                       // id2label in id order; empty: not set
    std::map<int64_t, std::vector<int64_t>> pruned_heads;  // layer -> original head indices removed
    std::vector<int64_t> intermediate_sizes;               // per layer after compaction; empty: uniform

    int64_t head_dim() const { return hidden_size / num_attention_heads; }
    int64_t heads_in_layer(int64_t layer) const;           // num_attention_heads minus pruned ones
    std::vector<int64_t> kept_heads(int64_t layer) const;  // original indices still present
    int64_t intermediate_in_layer(int64_t layer) const;
    double parameter_count() const;  // of the encoder and embeddings, before any pruning
    bool compacted() const { return !pruned_heads.empty() || !intermediate_sizes.empty(); }
    double classifier_dropout_prob() const { return classifier_dropout < 0 ? hidden_dropout_prob : classifier_dropout; }

    // Throws std::runtime_error naming `source` on missing or invalid keys.
    static BertConfig from_json(const nlohmann::json& j, const std::string& source);
    static BertConfig load(const std::filesystem::path& file);
    // Keeps every key of `original` it does not own, so a round trip loses nothing.
    nlohmann::ordered_json to_json(const nlohmann::json& original = nlohmann::json::object()) const;
};

struct SafetensorsHeader;

// config.json against its checkpoint's tensors, before a model of config.json's sizes is
// allocated: the word embeddings' shape and the number of layers must match. Throws naming both.
void check_config_against_weights(const BertConfig& config, const SafetensorsHeader& header,
                                  const std::filesystem::path& config_file, const std::filesystem::path& weights_file);

// A vocabulary of `tokens` entries against config.json's vocab_size: ids past it have no
// embedding row. Throws naming both files.
void check_vocabulary_size(const BertConfig& config, size_t tokens, const std::filesystem::path& config_file,
                           const std::filesystem::path& vocab_file);

}  // namespace cap::hf
