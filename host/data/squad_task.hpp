// SQuAD v1.1 as a task: the training and dev JSON files found in the data folder (names that
// start with "train" and "dev"), windowed into features, evaluated with exact match and F1.
#pragma once

#include <memory>

#include "data/task.hpp"

namespace cap::data {

std::unique_ptr<Task> make_squad_task(const settings::TaskConfig& config, const text::WordPieceTokenizer& tokenizer);

}  // namespace cap::data
