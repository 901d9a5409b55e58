// cap's built-in model shapes, named `builtin:<name>` in recipes: randomly initialised BERTs for
// the synthetic task, tests and benchmarks. The one place their sizes are written down.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hf/bert_config.hpp"

namespace cap::hf {

constexpr const char* kBuiltinPrefix = "builtin:";

bool is_builtin_model(const std::string& spec);                     // starts with "builtin:"
const std::vector<std::string>& builtin_model_names();              // "builtin:bert-tiny", "builtin:bert-base"
std::optional<BertConfig> builtin_config(const std::string& spec);  // nullopt: no such model

}  // namespace cap::hf
