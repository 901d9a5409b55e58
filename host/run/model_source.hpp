// Where a run's models come from: a built-in configuration (random weights, for the synthetic
// task and for shapes) or a Hugging Face folder.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bert.hpp"
#include "text/vocabulary.hpp"

namespace cap::run {

struct ModelSource {
    model::Bert model{nullptr};
    std::optional<text::Vocabulary> vocabulary;
    nlohmann::json raw_config = nlohmann::json::object();
};

// `spec` is "builtin:bert-tiny", "builtin:bert-base" or a folder. Weights a checkpoint lacks (and
// every weight of a built-in model) are initialised from LibTorch's generator, which the caller
// seeds.
ModelSource load_model(const std::string& spec, const std::filesystem::path& folder, model::TaskHead head,
                       const std::vector<std::string>& labels);

// Saves `model` into `folder` (Hugging Face layout, with the source's vocabulary and the keys of
// its config.json) through a temporary sibling, so the folder is complete or absent.
void save_model_folder(model::Bert& model, const std::filesystem::path& folder, const ModelSource& source);

}  // namespace cap::run
