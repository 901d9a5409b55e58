// A WordPiece vocabulary: vocab.txt, one token per line, the id is the line number.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cap::text {

class Vocabulary {
public:
    // Throws std::runtime_error naming the file when it cannot be read or lacks [UNK].
    static Vocabulary load(const std::filesystem::path& file);
    static Vocabulary from_tokens(std::vector<std::string> tokens);

    int32_t id(std::string_view token) const;  // -1 when absent
    bool contains(std::string_view token) const { return id(token) >= 0; }
    const std::string& token(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
    size_t size() const { return tokens_.size(); }
    const std::vector<std::string>& tokens() const { return tokens_; }

    int32_t unk_id() const { return unk_; }
    int32_t cls_id() const { return cls_; }
    int32_t sep_id() const { return sep_; }
    int32_t pad_id() const { return pad_; }
    int32_t mask_id() const { return mask_; }

private:
    std::vector<std::string> tokens_;
    std::unordered_map<std::string, int32_t> ids_;
    int32_t unk_ = -1, cls_ = -1, sep_ = -1, pad_ = -1, mask_ = -1;
};

}  // namespace cap::text
