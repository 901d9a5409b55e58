// Sequence classification tasks: the GLUE tasks read from TSV files and the synthetic task.
#pragma once

#include <memory>

#include "data/task.hpp"

namespace cap::data {

std::unique_ptr<Task> make_glue_task(const settings::TaskConfig& config, const text::WordPieceTokenizer& tokenizer);
std::unique_ptr<Task> make_synthetic_task(const settings::TaskConfig& config);

}  // namespace cap::data
