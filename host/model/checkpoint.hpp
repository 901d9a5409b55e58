// Hugging Face folders in and out: config.json, vocab.txt, and model.safetensors (preferred) or
// pytorch_model.bin. Key variants are mapped as Hugging Face does: with or without the "bert."
// prefix, LayerNorm gamma/beta, pre-training heads (cls.*) and position_ids ignored. Weights the
// checkpoint lacks (a new classifier) are initialised, and missing and unused keys are logged
// as Hugging Face logs them.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bert.hpp"
#include "text/vocabulary.hpp"

namespace cap::model {

struct LoadReport {
    std::filesystem::path weights_file;
    std::vector<std::string> missing;     // in the model, not in the file: newly initialised
    std::vector<std::string> unexpected;  // in the file, not used by the model
};

struct LoadedModel {
    Bert model{nullptr};
    nlohmann::json raw_config;  // config.json as read, kept for saving
    std::optional<text::Vocabulary> vocabulary;
    LoadReport report;
};

// Loads `folder` for `head`. `labels` (when non-empty) sets the classification labels, e.g. the
// task's; otherwise config.json's id2label (or two labels) apply. Throws std::runtime_error
// naming the folder or file on any problem, including shape mismatches.
LoadedModel load_pretrained(const std::filesystem::path& folder, TaskHead head,
                            const std::vector<std::string>& labels = {});

// Copies the tensors of `state` into `model`, mapping key variants; returns what was missing
// and unused. Exposed for tests.
LoadReport assign_state(Bert& model, const std::vector<std::pair<std::string, at::Tensor>>& state,
                        const std::string& source);

// Writes config.json, model.safetensors and (when given) vocab.txt into `folder`, each file
// atomically. The config records pruned_heads and intermediate_sizes of a compacted model.
void save_pretrained(Bert& model, const std::filesystem::path& folder, const text::Vocabulary* vocabulary,
                     const nlohmann::json& original_config = nlohmann::json::object());

}  // namespace cap::model
