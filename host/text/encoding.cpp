#include "text/encoding.hpp"

#include <stdexcept>

namespace cap::text {

Encoding encode(const Vocabulary& vocabulary, std::vector<int32_t> a, const std::vector<int32_t>* b, int64_t max_length,
                int64_t pad_to) {
    std::vector<int32_t> second = b ? *b : std::vector<int32_t>{};
    const int64_t special = b ? 3 : 2;
    if (max_length < special) throw std::invalid_argument("max_length is too small for the special tokens");
    int64_t excess = static_cast<int64_t>(a.size() + second.size()) + special - max_length;
    for (; excess > 0; --excess) {
        if (!b || a.size() > second.size())
            a.pop_back();
        else
            second.pop_back();
    }
    Encoding e;
    auto push = [&](int32_t id, int64_t type) {
        e.input_ids.push_back(id);
        e.token_type_ids.push_back(type);
        e.attention_mask.push_back(1);
    };
    push(vocabulary.cls_id(), 0);
    for (int32_t id : a) push(id, 0);
    push(vocabulary.sep_id(), 0);
    if (b) {
        for (int32_t id : second) push(id, 1);
        push(vocabulary.sep_id(), 1);
    }
    e.length = static_cast<int64_t>(e.input_ids.size());
    while (static_cast<int64_t>(e.input_ids.size()) < pad_to) {
        e.input_ids.push_back(vocabulary.pad_id());
        e.token_type_ids.push_back(0);
        e.attention_mask.push_back(0);
    }
    return e;
}

Encoding encode_text(const WordPieceTokenizer& tokenizer, std::string_view a, const std::string_view* b,
                     int64_t max_length, int64_t pad_to) {
    std::vector<int32_t> ids_b;
    if (b) ids_b = tokenizer.ids(*b);
    return encode(tokenizer.vocabulary(), tokenizer.ids(a), b ? &ids_b : nullptr, max_length, pad_to);
}

}  // namespace cap::text
