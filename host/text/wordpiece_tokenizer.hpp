// BERT's uncased tokenizer, as Hugging Face's BertTokenizer (do_lower_case=True) does it:
// clean the text (drop control characters, map whitespace to spaces), put spaces around CJK
// ideographs, lowercase, strip accents (NFD, drop non-spacing marks), split on whitespace and
// punctuation, then greedy longest-match-first WordPiece with "##" continuations and [UNK] for
// words over 100 characters. Special tokens written in the text ([SEP], [MASK], ...) stay whole.
//
// Every token carries the byte range of the original UTF-8 text it came from, so answers can
// be cut out of a SQuAD context exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/vocabulary.hpp"

namespace cap::text {

struct Token {
    int32_t id;
    uint32_t begin;  // byte offsets into the text: [begin, end)
    uint32_t end;
};

class WordPieceTokenizer {
public:
    explicit WordPieceTokenizer(Vocabulary vocabulary, bool lower_case = true);

    std::vector<Token> tokenize(std::string_view text) const;
    std::vector<int32_t> ids(std::string_view text) const;
    // The basic tokenizer's words (before WordPiece), for tests and debugging.
    std::vector<std::string> basic_tokens(std::string_view text) const;

    const Vocabulary& vocabulary() const { return vocabulary_; }

private:
    struct Piece;  // a code point and the byte range it came from
    std::vector<std::vector<Piece>> split_words(std::string_view text) const;
    void word_pieces(const std::vector<Piece>& word, std::vector<Token>& out) const;

    Vocabulary vocabulary_;
    bool lower_case_;
    std::vector<std::string> specials_;
};

}  // namespace cap::text
