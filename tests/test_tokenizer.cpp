// The uncased WordPiece tokenizer: reference encodings of an independent implementation, and
// hand-made cases for each rule.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "support/shared_data.hpp"
#include "text/encoding.hpp"
#include "text/unicode.hpp"

using namespace cap::text;

namespace {

WordPieceTokenizer small_tokenizer() {
    return WordPieceTokenizer(Vocabulary::from_tokens(
        {"[PAD]", "[UNK]", "[CLS]",  "[SEP]", "[MASK]", "hello", "world", "un", "##aff", "##able", ",",  "!",
         ".",     "cafe",  "resume", "中",    "文",     "the",   "##s",   "a",  "'",     "-",      "ff", "##i"}));
}

std::vector<std::string> pieces(const WordPieceTokenizer& t, const std::string& text) {
    std::vector<std::string> out;
    for (const auto& tok : t.tokenize(text)) out.push_back(t.vocabulary().token(tok.id));
    return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("tokenizer: matches the reference encodings (sentences, pairs, Unicode, truncation)") {
    auto models = cap::test::models_dir();
    auto data = cap::test::data_dir();
    CAP_REQUIRE_SHARED(models, "shared models");
    CAP_REQUIRE_SHARED(data, "shared data");
    WordPieceTokenizer tokenizer(Vocabulary::load(*data / "vocab" / "bert-base-uncased-vocab.txt"));
    std::ifstream in(*models / "reference" / "tokens.jsonl");
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        const std::string a = j["text_a"];
        const bool pair = !j["text_b"].is_null();
        const std::string b = pair ? j["text_b"].get<std::string>() : "";
        const std::string_view bv = b;
        const int64_t max_length = j["max_length"];
        auto e = encode_text(tokenizer, a, pair ? &bv : nullptr, max_length, max_length);
        CAPTURE(a);
        CHECK(e.input_ids == j["input_ids"].get<std::vector<int64_t>>());
        CHECK(e.token_type_ids == j["token_type_ids"].get<std::vector<int64_t>>());
        CHECK(e.attention_mask == j["attention_mask"].get<std::vector<int64_t>>());
        ++cases;
    }
    CHECK(cases == 49);
}

TEST_CASE("tokenizer: lowercases, strips accents, splits punctuation and CJK") {
    auto t = small_tokenizer();
    CHECK(pieces(t, "Hello, WORLD!") == Strings{"hello", ",", "world", "!"});
    CHECK(pieces(t, "Café résumé") == Strings{"cafe", "resume"});
    CHECK(pieces(t, "中文hello") == Strings{"中", "文", "hello"});
    CHECK(pieces(t, "unaffable") == Strings{"un", "##aff", "##able"});
    CHECK(pieces(t, "the-a's") == Strings{"the", "-", "a", "'", "[UNK]"});  // "s" alone is not in this vocabulary
    // No-break space separates words; a zero-width space (a format character) is dropped.
    CHECK(t.basic_tokens("  tab\there\nnew\u00a0nbsp\u200bzw ") == Strings{"tab", "here", "new", "nbspzw"});
}

TEST_CASE("tokenizer: unknown and over-long words become [UNK] and control characters vanish") {
    auto t = small_tokenizer();
    CHECK(pieces(t, "hello xyzzy") == Strings{"hello", "[UNK]"});
    CHECK(pieces(t, std::string(101, 'a')) == Strings{"[UNK]"});
    CHECK(pieces(t, "hel\x07lo") == Strings{"hello"});
    // The NUL vanishes, leaving one word "helloworld", which this vocabulary cannot piece together.
    CHECK(pieces(t, std::string("hello\0world", 11)) == Strings{"[UNK]"});
    CHECK(pieces(t, "[MASK] hello [SEP]") == Strings{"[MASK]", "hello", "[SEP]"});  // special tokens stay whole
}

TEST_CASE("tokenizer: every token maps back to the bytes it came from") {
    auto t = small_tokenizer();
    const std::string text = "Héllo, Wörld!";  // "é" and "ö" are two bytes each
    auto tokens = t.tokenize(text);
    REQUIRE(tokens.size() == 4);
    CHECK(text.substr(tokens[0].begin, tokens[0].end - tokens[0].begin) == "Héllo");
    CHECK(text.substr(tokens[1].begin, tokens[1].end - tokens[1].begin) == ",");
    CHECK(text.substr(tokens[2].begin, tokens[2].end - tokens[2].begin) == "Wörld");
    CHECK(text.substr(tokens[3].begin, tokens[3].end - tokens[3].begin) == "!");
    auto pieces_of = t.tokenize("unaffable");
    REQUIRE(pieces_of.size() == 3);
    CHECK(pieces_of[1].begin == 2);
    CHECK(pieces_of[1].end == 5);
}

TEST_CASE("tokenizer: pairs truncate the longer side first, the second one on ties") {
    auto vocab = small_tokenizer().vocabulary();
    std::vector<int32_t> a = {5, 5, 5, 5, 5}, b = {6, 6, 6};
    auto e = encode(vocab, a, &b, 9, 12);  // 8 + 3 specials = 11 tokens: remove 2
    // a (5) > b (3): a loses one -> 4 vs 3; a still longer -> 3 vs 3. Result: [CLS] a*3 [SEP] b*3 [SEP]
    CHECK(e.length == 9);
    CHECK(std::vector<int64_t>(e.input_ids.begin(), e.input_ids.begin() + 9) ==
          std::vector<int64_t>{2, 5, 5, 5, 3, 6, 6, 6, 3});
    CHECK(std::vector<int64_t>(e.token_type_ids.begin(), e.token_type_ids.begin() + 9) ==
          std::vector<int64_t>{0, 0, 0, 0, 0, 1, 1, 1, 1});
    CHECK(e.input_ids.size() == 12);  // padded
    CHECK(e.attention_mask[9] == 0);
    std::vector<int32_t> tie_a = {5, 5, 5}, tie_b = {6, 6, 6};
    auto tie = encode(vocab, tie_a, &tie_b, 8, 0);  // 9 tokens: remove 1, from the second
    CHECK(tie.input_ids == std::vector<int64_t>{2, 5, 5, 5, 3, 6, 6, 3});
    CHECK_THROWS_AS(encode(vocab, tie_a, &tie_b, 2, 0), std::invalid_argument);
}

TEST_CASE("tokenizer: Python's lower() and split() where the metrics need them") {
    CHECK(python_lower("ÉCOLE İ") == "école i\xcc\x87");
    CHECK(python_split(" a\u00a0b\u3000c\n") == Strings{"a", "b", "c"});
}
