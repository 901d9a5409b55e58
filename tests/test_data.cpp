// Task data: GLUE TSV by header name, the synthetic task, SQuAD windows and post-processing,
// and the metrics. Malformed input must name its file and line.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "data/glue.hpp"
#include "data/squad.hpp"
#include "data/synthetic.hpp"
#include "metrics/classification.hpp"
#include "metrics/squad.hpp"
#include "settings/task.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"

namespace fs = std::filesystem;
using namespace cap::data;

namespace {
cap::text::WordPieceTokenizer squad_tokenizer() {
    return cap::text::WordPieceTokenizer(cap::text::Vocabulary::from_tokens(
        {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who",  "wrote",  "it",     "?",  "alice", "bob",    "and",
         "wrote", "the",   "book",  ".",     "carol",  "read", "kraków", "krakow", "is", "in",    "poland", "where"}));
}
}  // namespace

TEST_CASE("data: GLUE TSV columns are found by header name") {
    const fs::path dir = cap::test::scratch_dir("glue_ok");
    auto file = cap::test::write_text(dir / "train.tsv", "label\tsentence\n1\tgood film\n0\tbad film\n\n");
    auto rows = read_glue_tsv(file, *find_glue_task("sst2"));
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].a == "good film");
    CHECK(rows[0].label == 1);
    CHECK_FALSE(rows[0].b.has_value());
    CHECK(rows[1].line == 3);
    auto mnli = cap::test::write_text(dir / "mnli.tsv", "sentence1\tsentence2\tgold_label\na\tb\tcontradiction\n");
    auto pair = read_glue_tsv(mnli, *find_glue_task("mnli"));
    CHECK(pair[0].b == "b");
    CHECK(pair[0].label == 2);  // entailment, neutral, contradiction
}

TEST_CASE("data: malformed GLUE rows name the file and line") {
    const fs::path dir = cap::test::scratch_dir("glue_bad");
    const auto& sst2 = *find_glue_task("sst2");
    auto columns = cap::test::write_text(dir / "a.tsv", "sentence\tlabel\nfine\t1\nbroken\n");
    CHECK_THROWS_WITH_AS(read_glue_tsv(columns, sst2), doctest::Contains("a.tsv:3: 1 columns, the header has 2"),
                         std::runtime_error);
    auto label = cap::test::write_text(dir / "b.tsv", "sentence\tlabel\nfine\tpositive\n");
    CHECK_THROWS_WITH_AS(read_glue_tsv(label, sst2), doctest::Contains("b.tsv:2: label 'positive' is not one of 0, 1"),
                         std::runtime_error);
    auto header = cap::test::write_text(dir / "c.tsv", "text\tlabel\nfine\t1\n");
    CHECK_THROWS_WITH_AS(read_glue_tsv(header, sst2), doctest::Contains("c.tsv:1: no column 'sentence'"),
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(read_glue_tsv(dir / "missing.tsv", sst2), doctest::Contains("cannot read"),
                         std::runtime_error);
}

TEST_CASE("data: the synthetic task is the same for the same seed and learnable by counting") {
    auto a = synthetic_examples(200, 7), b = synthetic_examples(200, 7), c = synthetic_examples(200, 8);
    CHECK(a[17].input.ids == b[17].input.ids);
    CHECK(a[17].input.ids != c[17].input.ids);
    int positive = 0;
    for (const auto& e : a) {
        int balance = 0;
        for (size_t i = 1; i + 1 < e.input.ids.size(); ++i) {
            const int w = e.input.ids[i] - 1000;
            balance += w < 250 ? 1 : (w < 500 ? -1 : 0);
        }
        CHECK((balance > 0) == (e.label == 1));
        positive += static_cast<int>(e.label);
        CHECK(e.input.ids.front() == 101);
        CHECK(e.input.ids.back() == 102);
    }
    CHECK(positive > 60);
    CHECK(positive < 140);
}

TEST_CASE("data: SQuAD windows overlap, and answers map to tokens by byte offsets") {
    SquadExample e;
    e.id = "q1";
    e.question = "Who wrote it?";
    e.context = "Alice and Bob wrote the book . Carol read the book . Kraków is in Poland .";
    e.answers = {"Kraków"};
    e.answer_starts = {static_cast<int64_t>(e.context.find("Kraków"))};
    SquadWindowing w{16, 4, 64};  // 16 - 4 question tokens - 3 = 9 context tokens per window
    auto features = squad_features({e}, squad_tokenizer(), w);
    REQUIRE(features.size() == 3);  // 17 context tokens: windows start at 0, 5 and 10
    CHECK(features[0].input.ids.size() == 16);
    CHECK(features[0].start_position == 0);  // answer not in the first window: [CLS]
    const auto& last = features[2];
    REQUIRE(last.start_position > 0);
    CHECK(last.start_position == last.end_position);
    const auto off = last.offsets[static_cast<size_t>(last.start_position)];
    CHECK(e.context.substr(off.first, off.second - off.first) == "Kraków");
    CHECK(last.input.types[5] == 0);  // [SEP] after the question
    CHECK(last.input.types[6] == 1);  // first context token

    // Post-processing: the best valid span wins; question tokens and too-long spans do not.
    std::vector<at::Tensor> starts, ends;
    for (const auto& f : features) {
        at::Tensor s = at::full({static_cast<int64_t>(f.offsets.size())}, -10.0f);
        at::Tensor t = at::full({static_cast<int64_t>(f.offsets.size())}, -10.0f);
        s[1] = 50.0f;  // a question token: never an answer
        t[1] = 50.0f;
        starts.push_back(s);
        ends.push_back(t);
    }
    starts[2][last.start_position] = 5.0f;
    ends[2][last.end_position] = 5.0f;
    auto predictions = squad_predictions({e}, features, starts, ends);
    CHECK(predictions[0] == "Kraków");
    SquadPostprocessing tight{20, 0};  // no span is short enough
    CHECK(squad_predictions({e}, features, starts, ends, tight)[0].empty());
}

TEST_CASE("data: SQuAD JSON problems name the file and line or the JSON path") {
    const fs::path dir = cap::test::scratch_dir("squad_bad");
    auto syntax = cap::test::write_text(dir / "a.json", "{\n \"data\": [\n  {\"paragraphs\": [}\n]}\n");
    CHECK_THROWS_WITH_AS(read_squad(syntax), doctest::Contains("a.json:3: invalid JSON"), std::runtime_error);
    auto structure = cap::test::write_text(
        dir / "b.json", R"({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "1", "answers": []}]}]}]})");
    CHECK_THROWS_WITH_AS(read_squad(structure),
                         doctest::Contains("b.json: data[0].paragraphs[0].qas[0]: missing 'question'"),
                         std::runtime_error);
    auto offsets = cap::test::write_text(
        dir / "c.json",
        R"({"data": [{"paragraphs": [{"context": "Kraków x", "qas": [{"id": "1", "question": "q", "answers": [{"text": "x", "answer_start": 7}]}]}]}]})");
    auto examples = read_squad(offsets);
    CHECK(examples[0].answer_starts[0] == 8);  // 7 characters, 8 bytes ("ó" is two)
}

TEST_CASE("metrics: SQuAD normalisation, exact match and F1 as the official script") {
    using namespace cap::metrics;
    CHECK(normalize_answer("The  Quick, Brown fox!") == "quick brown fox");
    CHECK(normalize_answer("an apple") == "apple");
    CHECK(exact_match("the Denver Broncos", "Denver Broncos") == 1.0);
    CHECK(token_f1("Denver Broncos team", "Denver Broncos") == doctest::Approx(0.8));
    CHECK(token_f1("nothing", "Denver") == 0.0);
    auto score = squad_score({"Denver Broncos", "Carolina"}, {{"Broncos", "Denver Broncos"}, {"Panthers"}});
    CHECK(score.exact_match == doctest::Approx(50.0));
    CHECK(score.f1 == doctest::Approx(50.0));
}

TEST_CASE("metrics: accuracy and F1 of the positive class") {
    using namespace cap::metrics;
    CHECK(accuracy({1, 0, 1, 1}, {1, 0, 0, 1}) == doctest::Approx(75.0));
    CHECK(binary_f1({1, 0, 1, 1}, {1, 0, 0, 1}) == doctest::Approx(80.0));  // tp 2, fp 1, fn 0
    CHECK(binary_f1({0, 0}, {1, 0}) == 0.0);
    CHECK_THROWS_AS(accuracy({1}, {1, 0}), std::invalid_argument);
}

TEST_CASE("data: the real GLUE and SQuAD files read completely") {
    auto data = cap::test::data_dir();
    CAP_REQUIRE_SHARED(data, "shared data");
    CHECK(read_glue_tsv(*data / "glue/SST-2/dev.tsv", *find_glue_task("sst2")).size() == 872);
    CHECK(read_glue_tsv(*data / "glue/SST-2/train.tsv", *find_glue_task("sst2")).size() == 67349);
    CHECK(read_glue_tsv(*data / "glue/MNLI/dev_mismatched.tsv", *find_glue_task("mnli")).size() == 1000);
    CHECK(read_glue_tsv(*data / "glue/QQP/dev.tsv", *find_glue_task("qqp")).size() == 1000);
    CHECK(read_squad(*data / "squad/dev-v1.1.json").size() == 10570);
}

TEST_CASE("data: the task names recipes accept are the tasks the data code makes") {
    const auto& names = cap::settings::task_names();
    for (const auto& name : names) {
        CAPTURE(name);
        CHECK((name == "squad" || name == "synthetic" || cap::data::find_glue_task(name) != nullptr));
    }
    for (const auto& glue : cap::data::glue_task_names())
        CHECK(std::find(names.begin(), names.end(), glue) != names.end());
}
