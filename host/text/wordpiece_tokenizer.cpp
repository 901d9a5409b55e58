#include "text/wordpiece_tokenizer.hpp"

#include "text/unicode.hpp"

#include <utf8proc.h>

#include <algorithm>

namespace cap::text {

struct WordPieceTokenizer::Piece {
    int32_t cp;
    uint32_t begin, end;
};

namespace {

constexpr size_t kMaxCharsPerWord = 100;

bool is_whitespace(int32_t cp) {
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
    return utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool is_control(int32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_CC:
        case UTF8PROC_CATEGORY_CF:
        case UTF8PROC_CATEGORY_CS:
        case UTF8PROC_CATEGORY_CO:
        case UTF8PROC_CATEGORY_CN: return true;
        default: return false;
    }
}

bool is_punctuation(int32_t cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
        return true;
    switch (utf8proc_category(cp)) {
        case UTF8PROC_CATEGORY_PC:
        case UTF8PROC_CATEGORY_PD:
        case UTF8PROC_CATEGORY_PS:
        case UTF8PROC_CATEGORY_PE:
        case UTF8PROC_CATEGORY_PI:
        case UTF8PROC_CATEGORY_PF:
        case UTF8PROC_CATEGORY_PO: return true;
        default: return false;
    }
}

bool is_cjk(int32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Lowercase and strip accents: full lowercase of U+0130 (the one case Python's lower() maps to
// two code points that matters here), then the canonical decomposition without marks (Mn).
void lower_and_strip(int32_t cp, std::vector<int32_t>& out) {
    if (cp == 0x130) {  // İ -> i + combining dot, whose mark is stripped below
        out.push_back('i');
        return;
    }
    cp = utf8proc_tolower(cp);
    utf8proc_int32_t buf[16];
    int last_boundclass = 0;
    auto n = utf8proc_decompose_char(cp, buf, 16, UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n < 0 || n > 16) {
        out.push_back(cp);
        return;
    }
    for (utf8proc_ssize_t i = 0; i < n; ++i)
        if (utf8proc_category(buf[i]) != UTF8PROC_CATEGORY_MN) out.push_back(buf[i]);
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(Vocabulary vocabulary, bool lower_case)
    : vocabulary_(std::move(vocabulary)), lower_case_(lower_case) {
    for (const char* s : {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"})
        if (vocabulary_.contains(s)) specials_.emplace_back(s);
}

std::vector<std::vector<WordPieceTokenizer::Piece>> WordPieceTokenizer::split_words(std::string_view text) const {
    std::vector<std::vector<Piece>> words;
    std::vector<Piece> current;
    auto flush = [&] {
        if (!current.empty()) words.push_back(std::move(current));
        current.clear();
    };
    const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
    const auto size = static_cast<utf8proc_ssize_t>(text.size());
    utf8proc_ssize_t pos = 0;
    std::vector<int32_t> normalised;
    while (pos < size) {
        // Special tokens written literally are kept whole, as Hugging Face's added tokens are.
        bool special = false;
        for (const auto& s : specials_) {
            if (text.compare(static_cast<size_t>(pos), s.size(), s) == 0) {
                flush();
                current.push_back({-1, static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + s.size())});
                flush();
                pos += static_cast<utf8proc_ssize_t>(s.size());
                special = true;
                break;
            }
        }
        if (special) continue;
        utf8proc_int32_t cp = 0;
        utf8proc_ssize_t n = utf8proc_iterate(bytes + pos, size - pos, &cp);
        if (n <= 0) {  // invalid UTF-8: decoded as U+FFFD, which cleaning drops
            pos += 1;
            continue;
        }
        const auto begin = static_cast<uint32_t>(pos), end = static_cast<uint32_t>(pos + n);
        pos += n;
        if (cp == 0 || cp == 0xFFFD || is_control(cp)) continue;
        if (is_whitespace(cp) || is_python_space(cp)) {
            flush();
            continue;
        }
        if (is_cjk(cp)) {
            flush();
            current.push_back({cp, begin, end});
            flush();
            continue;
        }
        normalised.clear();
        if (lower_case_)
            lower_and_strip(cp, normalised);
        else
            normalised.push_back(cp);
        for (int32_t c : normalised) {
            if (is_python_space(c)) {
                flush();
            } else if (is_punctuation(c)) {
                flush();
                current.push_back({c, begin, end});
                flush();
            } else {
                current.push_back({c, begin, end});
            }
        }
    }
    flush();
    return words;
}

void WordPieceTokenizer::word_pieces(const std::vector<Piece>& word, std::vector<Token>& out) const {
    const Token unk{vocabulary_.unk_id(), word.front().begin, word.back().end};
    if (word.size() > kMaxCharsPerWord) {
        out.push_back(unk);
        return;
    }
    const size_t before = out.size();
    size_t start = 0;
    while (start < word.size()) {
        size_t end = word.size();
        int32_t found = -1;
        std::string candidate;
        while (start < end) {
            candidate = start > 0 ? "##" : "";
            for (size_t i = start; i < end; ++i) append_utf8(candidate, word[i].cp);
            found = vocabulary_.id(candidate);
            if (found >= 0) break;
            --end;
        }
        if (found < 0) {
            out.resize(before);
            out.push_back(unk);
            return;
        }
        out.push_back({found, word[start].begin, word[end - 1].end});
        start = end;
    }
}

std::vector<Token> WordPieceTokenizer::tokenize(std::string_view text) const {
    std::vector<Token> out;
    for (const auto& word : split_words(text)) {
        if (word.size() == 1 && word[0].cp == -1) {
            std::string_view s = text.substr(word[0].begin, word[0].end - word[0].begin);
            out.push_back({vocabulary_.id(s), word[0].begin, word[0].end});
            continue;
        }
        word_pieces(word, out);
    }
    return out;
}

std::vector<int32_t> WordPieceTokenizer::ids(std::string_view text) const {
    std::vector<int32_t> out;
    for (const auto& t : tokenize(text)) out.push_back(t.id);
    return out;
}

std::vector<std::string> WordPieceTokenizer::basic_tokens(std::string_view text) const {
    std::vector<std::string> out;
    for (const auto& word : split_words(text)) {
        std::string s;
        if (word.size() == 1 && word[0].cp == -1)
            s = std::string(text.substr(word[0].begin, word[0].end - word[0].begin));
        else
            for (const auto& p : word) append_utf8(s, p.cp);
        out.push_back(s);
    }
    return out;
}

}  // namespace cap::text
