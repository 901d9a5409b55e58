// The embedded synthetic task: sentiment by counting. Each example is a random sequence of word
// ids; a quarter of the vocabulary is "positive", a quarter "negative", the rest neutral, and
// the label is 1 when positive words outnumber negative ones. It needs no files, is the same
// for the same seed everywhere, and a tiny BERT learns it in a minute, so the quickstart
// trains and evaluates on a bare clone.
#pragma once

#include <cstdint>
#include <vector>

#include "data/batch.hpp"

namespace cap::data {

struct SyntheticExample {
    Encoded input;  // [CLS] words [SEP] in bert-base-uncased ids
    int64_t label;
};

// `count` examples of 8 to 24 words from word ids [1000, 2000).
std::vector<SyntheticExample> synthetic_examples(int64_t count, uint64_t seed);

}  // namespace cap::data
