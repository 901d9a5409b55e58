#include "text/vocabulary.hpp"

#include <fstream>
#include <stdexcept>
#include <unordered_map>

#include "text/unicode.hpp"

namespace cap::text {

Vocabulary Vocabulary::load(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read vocabulary " + file.string());
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        throw std::runtime_error(file.string() + " is a folder, not a vocabulary");
    std::vector<std::string> tokens;
    // A token's line: a second line with the same token would give it two ids, and which one a
    // tokenizer uses differs between implementations.
    std::unordered_map<std::string, size_t> line_of;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t number = tokens.size() + 1;
        const std::string where = file.string() + ":" + std::to_string(number) + ": ";
        if (const std::string problem = utf8_problem(line); !problem.empty())
            throw std::runtime_error(where + problem + " (a vocabulary is UTF-8 text, one token per line)");
        if (line.empty())
            throw std::runtime_error(where +
                                     "blank line (a vocabulary has one token on every line; every line is an id)");
        if (const auto [it, added] = line_of.emplace(line, number); !added)
            throw std::runtime_error(where + "token '" + line + "' again, first on line " + std::to_string(it->second) +
                                     " (each token must have one id)");
        tokens.push_back(line);
    }
    try {
        return from_tokens(std::move(tokens));
    } catch (const std::exception& e) {
        throw std::runtime_error(file.string() + ": " + e.what());
    }
}

Vocabulary Vocabulary::from_tokens(std::vector<std::string> tokens) {
    Vocabulary v;
    v.tokens_ = std::move(tokens);
    v.ids_.reserve(v.tokens_.size());
    for (size_t i = 0; i < v.tokens_.size(); ++i) v.ids_.emplace(v.tokens_[i], static_cast<int32_t>(i));
    v.unk_ = v.id("[UNK]");
    v.cls_ = v.id("[CLS]");
    v.sep_ = v.id("[SEP]");
    v.pad_ = v.id("[PAD]");
    v.mask_ = v.id("[MASK]");
    if (v.unk_ < 0 || v.cls_ < 0 || v.sep_ < 0 || v.pad_ < 0)
        throw std::runtime_error("vocabulary lacks one of [UNK], [CLS], [SEP], [PAD]");
    return v;
}

int32_t Vocabulary::id(std::string_view token) const {
    auto it = ids_.find(std::string(token));
    return it == ids_.end() ? -1 : it->second;
}

}  // namespace cap::text
