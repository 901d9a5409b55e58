// SQuAD v1.1: the official JSON, windows over long contexts (max length 384, 128 tokens shared
// by consecutive windows), answer positions for training, and the n-best post-processing that
// turns start/end logits back into answer text, as Hugging Face's question-answering example
// does.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data/batch.hpp"
#include "text/wordpiece_tokenizer.hpp"

namespace cap::data {

struct SquadExample {
    std::string id;
    std::string question;
    std::string context;
    std::vector<std::string> answers;    // gold texts
    std::vector<int64_t> answer_starts;  // byte offsets of the answers in `context` (the JSON's
                                         // character offsets, converted on reading)
};

// Throws std::runtime_error naming the file and the line (JSON syntax) or the JSON path
// (structure) of the problem.
std::vector<SquadExample> read_squad(const std::filesystem::path& file);

struct SquadFeature {
    Encoded input;               // [CLS] question [SEP] window [SEP]
    int64_t example = 0;         // index into the examples
    int64_t start_position = 0;  // training: token of the answer start (0: not in window)
    int64_t end_position = 0;
    std::vector<std::pair<int32_t, int32_t>> offsets;  // per token: byte range in the context, or {-1, -1}
};

struct SquadWindowing {
    int64_t max_length = 384;
    int64_t doc_stride = 128;  // tokens shared by consecutive windows
    int64_t max_query_length = 64;
};

std::vector<SquadFeature> squad_features(const std::vector<SquadExample>& examples,
                                         const text::WordPieceTokenizer& tokenizer, const SquadWindowing& windowing);

struct SquadPostprocessing {
    int64_t n_best = 20;
    int64_t max_answer_length = 30;
};

// The best answer text of every example from its features' logits ([features, length] each).
std::vector<std::string> squad_predictions(const std::vector<SquadExample>& examples,
                                           const std::vector<SquadFeature>& features,
                                           const std::vector<at::Tensor>& start_logits,
                                           const std::vector<at::Tensor>& end_logits,
                                           const SquadPostprocessing& options = {});

}  // namespace cap::data
