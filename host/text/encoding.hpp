// Model inputs for one example: [CLS] a [SEP] (b [SEP]), token types, attention mask, padding,
// with Hugging Face's "longest_first" truncation: drop the last token of the longer sequence,
// one at a time (of the second on ties), until the pair fits.
#pragma once

#include <cstdint>
#include <vector>

#include "text/wordpiece_tokenizer.hpp"

namespace cap::text {

struct Encoding {
    std::vector<int64_t> input_ids;
    std::vector<int64_t> token_type_ids;
    std::vector<int64_t> attention_mask;
    int64_t length = 0;  // real tokens before padding
};

// `pad_to` > 0 pads to that length (the usual max_length padding); 0 leaves it unpadded.
Encoding encode(const Vocabulary& vocabulary, std::vector<int32_t> a, const std::vector<int32_t>* b, int64_t max_length,
                int64_t pad_to);

Encoding encode_text(const WordPieceTokenizer& tokenizer, std::string_view a, const std::string_view* b,
                     int64_t max_length, int64_t pad_to);

}  // namespace cap::text
