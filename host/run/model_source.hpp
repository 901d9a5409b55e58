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

model::BertConfig builtin_config(const std::string& name);  // throws for unknown names

}  // namespace cap::run
