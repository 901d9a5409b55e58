// Bad input refused in cap's own words (issue 16): model folders whose config.json does not fit
// their weights or this machine, data files with a BOM, bad bytes or no examples, recipes with
// values of the wrong type or range, and a fuzz of safetensors headers. Each message names the
// file (and line or key); none carries a library's raw exception text.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>

#include "data/glue.hpp"
#include "data/squad.hpp"
#include "hf/safetensors_format.hpp"
#include "model/checkpoint.hpp"
#include "support/process.hpp"
#include "text/vocabulary.hpp"
#include "util/error_text.hpp"

namespace fs = std::filesystem;
using cap::test::read_text;
using cap::test::run_cap;
using cap::test::write_text;

namespace {

// What no message may carry: library exception text without cap's sentence around it.
void check_own_words(const std::string& output) {
    CHECK(output.find("json.exception") == std::string::npos);
    CHECK(output.find("std::get") == std::string::npos);
    CHECK(output.find("enforce fail") == std::string::npos);
    CHECK(output.find("Exception raised from") == std::string::npos);  // LibTorch's stack trace
}

const std::vector<std::string> kTokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "a"};

// A small Hugging Face folder (config.json, model.safetensors, vocab.txt) cap can fine-tune.
fs::path model_folder(const std::string& name) {
    const fs::path dir = cap::test::scratch_dir(name) / "model";
    cap::model::BertConfig c;
    c.vocab_size = 16;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 64;
    c.labels = {"LABEL_0", "LABEL_1"};
    at::manual_seed(3);
    cap::model::Bert m(c, cap::model::TaskHead::kClassification);
    const auto vocabulary = cap::text::Vocabulary::from_tokens(kTokens);
    cap::model::save_pretrained(m, dir, &vocabulary);
    return dir;
}

// config.json of `folder` with `key` set to the JSON text `value`.
void edit_config(const fs::path& folder, const std::string& key, const std::string& value) {
    auto j = nlohmann::json::parse(read_text(folder / "config.json"));
    j[key] = nlohmann::json::parse(value);
    write_text(folder / "config.json", j.dump(2));
}

fs::path sst2_folder(const std::string& name) {
    const fs::path dir = cap::test::scratch_dir(name) / "sst2";
    std::string rows = "sentence\tlabel\n";
    for (int i = 0; i < 8; ++i) rows += (i % 2 ? "a good film\t1\n" : "a bad film\t0\n");
    write_text(dir / "train.tsv", rows);
    write_text(dir / "dev.tsv", rows);
    return dir;
}

std::string recipe_for(const fs::path& model, const fs::path& data) {
    return "[run]\nname = \"bad\"\n[model]\npretrained = \"" + model.string() +
           "\"\n[task]\nname = \"sst2\"\ndata = \"" + data.string() + "\"\n[finetune]\nepochs = 1\nbatch_size = 4\n";
}

// `cap validate` and `cap run` both refuse the recipe with exit 2, naming `expected`; the run
// writes nothing.
void refused(const std::string& test, const std::string& recipe_text, const std::string& expected) {
    const fs::path dir = cap::test::scratch_dir(test + "_cli");
    const fs::path recipe = write_text(dir / "recipe.toml", recipe_text);
    auto v = run_cap("validate " + recipe.string());
    INFO(v.output);
    // Printed on success too: CI greps the tests' output for library text (.ci/run).
    MESSAGE(test << ": " << v.output);
    CHECK(v.exit_code == 2);
    CHECK(v.output.find(expected) != std::string::npos);
    check_own_words(v.output);
    auto r = run_cap("run " + recipe.string() + " --out " + (dir / "run").string());
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(expected) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "run"));
}

// Data files are read by their own function; the error must name file and line.
template <typename F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("bad input: config.json sizes that do not match the weights or would not fit in memory") {
    const fs::path data = sst2_folder("bad_config_data");
    {
        const fs::path model = model_folder("bad_config_layers");
        edit_config(model, "num_hidden_layers", "100000");
        refused("bad_config_layers", recipe_for(model, data), "num_hidden_layers is 100000 but");
    }
    {
        const fs::path model = model_folder("bad_config_hidden");
        edit_config(model, "hidden_size", "1099511627776");
        refused("bad_config_hidden", recipe_for(model, data), "GiB of memory here");
    }
    {
        const fs::path model = model_folder("bad_config_width");
        edit_config(model, "hidden_size", "32");
        refused("bad_config_width", recipe_for(model, data), "do not match");
    }
    {
        const fs::path model = model_folder("bad_config_eps");
        edit_config(model, "layer_norm_eps", "-1e-12");
        refused("bad_config_eps", recipe_for(model, data), "'layer_norm_eps' must be a positive number");
    }
    {  // a vocabulary with ids past the embedding table
        const fs::path model = model_folder("bad_config_vocab");
        std::string tokens;
        for (int i = 0; i < 20; ++i)
            tokens += i < static_cast<int>(kTokens.size()) ? kTokens[i] + "\n" : "w" + std::to_string(i) + "\n";
        write_text(model / "vocab.txt", tokens);
        refused("bad_config_vocab", recipe_for(model, data), "config.json: vocab_size is 16 but");
        refused("bad_config_vocab", recipe_for(model, data), "vocab.txt has 20 tokens");
    }
    {  // weights that overlap: the header is read at validate time
        const fs::path model = model_folder("bad_config_overlap");
        const auto header = cap::hf::read_safetensors_header(model / "model.safetensors");
        std::string file = read_text(model / "model.safetensors");
        const auto& first = header.entries.at(0);
        const auto& second = header.entries.at(1);
        const std::string from = "[" + std::to_string(second.begin) + "," + std::to_string(second.end) + "]";
        // Same length: shift the second tensor back onto the first's last bytes.
        const uint64_t shift = std::min(first.end - first.begin, uint64_t{4});
        const std::string to_text =
            "[" + std::to_string(second.begin - shift) + "," + std::to_string(second.end - shift) + "]";
        const auto at = file.find(from);
        REQUIRE(at != std::string::npos);
        REQUIRE(to_text.size() == from.size());
        file.replace(at, from.size(), to_text);
        std::ofstream(model / "model.safetensors", std::ios::binary | std::ios::trunc) << file;
        refused("bad_config_overlap", recipe_for(model, data), "overlapping data_offsets");
    }
}

TEST_CASE("bad input: a model folder that is fine loads, and its vocabulary matches its config") {
    const fs::path model = model_folder("good_model");
    auto loaded = cap::model::load_pretrained(model, cap::model::TaskHead::kClassification);
    REQUIRE(loaded.vocabulary);
    CHECK(loaded.vocabulary->size() == kTokens.size());
    auto v = run_cap("validate " + write_text(cap::test::scratch_dir("good_model_cli") / "recipe.toml",
                                              recipe_for(model, sst2_folder("good_model_data")))
                                       .string());
    INFO(v.output);
    CHECK(v.exit_code == 0);
}

TEST_CASE("bad input: TSV files with a BOM, bad bytes, no examples, or that are folders") {
    const auto* sst2 = cap::data::find_glue_task("sst2");
    REQUIRE(sst2);
    const fs::path dir = cap::test::scratch_dir("bad_tsv");
    // A UTF-8 byte order mark before the header (spreadsheet exports): accepted.
    write_text(dir / "bom.tsv", "\xEF\xBB\xBFsentence\tlabel\na good film\t1\n");
    auto rows = cap::data::read_glue_tsv(dir / "bom.tsv", *sst2);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].a == "a good film");

    write_text(dir / "latin1.tsv", "sentence\tlabel\na good film\t1\nun caf\xE9\t0\n");
    CHECK(error_of([&] { cap::data::read_glue_tsv(dir / "latin1.tsv", *sst2); }) ==
          (dir / "latin1.tsv").string() + ":3: invalid UTF-8 at byte 7 (cap reads UTF-8 text)");
    write_text(dir / "nul.tsv", std::string("sentence\tlabel\na go\0od film\t1\n", 30));
    CHECK(error_of([&] { cap::data::read_glue_tsv(dir / "nul.tsv", *sst2); }) ==
          (dir / "nul.tsv").string() + ":2: a NUL byte at byte 5 (cap reads UTF-8 text)");

    write_text(dir / "header-only.tsv", "sentence\tlabel\n");
    CHECK(error_of([&] { cap::data::read_glue_tsv(dir / "header-only.tsv", *sst2); }) ==
          (dir / "header-only.tsv").string() + ": no examples after the header row");

    fs::create_directories(dir / "dev.tsv");
    CHECK(error_of([&] { cap::data::read_glue_tsv(dir / "dev.tsv", *sst2); }) ==
          (dir / "dev.tsv").string() + " is a folder, not a TSV file");
}

TEST_CASE("bad input: a vocabulary with bad bytes, and SQuAD questions that are empty") {
    const fs::path dir = cap::test::scratch_dir("bad_vocab");
    write_text(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncaf\xC3\n");
    CHECK(error_of([&] { cap::text::Vocabulary::load(dir / "vocab.txt"); }) ==
          (dir / "vocab.txt").string() +
              ":5: invalid UTF-8 at byte 4 (a vocabulary is UTF-8 text, one token per line)");

    const std::string squad =
        R"({"data": [{"title": "t", "paragraphs": [{"context": "The cat sat.", "qas": [)"
        R"({"id": "q1", "question": "Who sat?", "answers": [{"text": "The cat", "answer_start": 0}]},)"
        R"({"id": "q2", "question": "  ", "answers": [{"text": "The cat", "answer_start": 0}]}]}]}]})";
    write_text(dir / "dev-v1.1.json", squad);
    CHECK(error_of([&] { cap::data::read_squad(dir / "dev-v1.1.json"); }) ==
          (dir / "dev-v1.1.json").string() + ": data[0].paragraphs[0].qas[1].question (id 'q2') is empty");
    write_text(dir / "none.json", R"({"data": [{"title": "t", "paragraphs": [{"context": "x", "qas": []}]}]})");
    CHECK(error_of([&] { cap::data::read_squad(dir / "none.json"); }) ==
          (dir / "none.json").string() + ": no questions (every 'qas' list is empty)");
    write_text(dir / "broken.json", "{\"data\": [\n  {oops}\n]}");
    const std::string broken = error_of([&] { cap::data::read_squad(dir / "broken.json"); });
    CHECK(broken.rfind((dir / "broken.json").string() + ":2: invalid JSON: ", 0) == 0);
    check_own_words(broken);
}

TEST_CASE("bad input: a vocabulary with a token twice or a blank line is refused, with the line numbers") {
    const fs::path dir = cap::test::scratch_dir("bad_vocab_lines");
    write_text(dir / "twice.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\ngood\n[UNK]\n");
    CHECK(error_of([&] { cap::text::Vocabulary::load(dir / "twice.txt"); }) ==
          (dir / "twice.txt").string() + ":6: token '[UNK]' again, first on line 2 (each token must have one id)");
    write_text(dir / "blank.txt", "[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n");
    CHECK(error_of([&] { cap::text::Vocabulary::load(dir / "blank.txt"); }) ==
          (dir / "blank.txt").string() +
              ":3: blank line (a vocabulary has one token on every line; every line is an id)");

    // In a model folder: refused by validate and run (exit 2, nothing written) and by eval.
    const fs::path model = model_folder("bad_vocab_lines_model");
    std::string tokens;
    for (const auto& t : kTokens) tokens += t + "\n";
    write_text(model / "vocab.txt", tokens + "[UNK]\n");
    const fs::path data = sst2_folder("bad_vocab_lines_data");
    const std::string expected = (model / "vocab.txt").string() + ":10: token '[UNK]' again, first on line 2";
    refused("bad_vocab_lines", recipe_for(model, data), expected);
    auto e = run_cap("eval --model " + model.string() + " --task sst2 --data " + data.string());
    INFO(e.output);
    CHECK(e.exit_code != 0);
    CHECK(e.output.find(expected) != std::string::npos);
}

TEST_CASE("bad input: a file given as a model or run folder, or a folder that does not exist, is named as such") {
    const fs::path dir = cap::test::scratch_dir("bad_folder_args");
    const fs::path file = write_text(dir / "model.safetensors", "not a folder");
    const fs::path data = sst2_folder("bad_folder_args_data");
    auto e = run_cap("eval --model " + file.string() + " --task sst2 --data " + data.string());
    INFO(e.output);
    CHECK(e.exit_code == 2);
    CHECK(e.output.find(file.string() + " is a file; a model folder (config.json and the weights) is expected") !=
          std::string::npos);

    auto missing = run_cap("run --resume " + (dir / "nowhere").string());
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("--resume " + (dir / "nowhere").string() + ": no such folder") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "nowhere"));
    auto not_folder = run_cap("run --resume " + file.string());
    CHECK(not_folder.exit_code == 2);
    CHECK(not_folder.output.find("--resume " + file.string() + ": a file, not a run folder") != std::string::npos);
    CHECK(read_text(file) == "not a folder");
}

TEST_CASE("bad input: a plugin file that is not a shared library is named so, and a run that asks for it says why") {
    const fs::path dir = cap::test::scratch_dir("bad_plugin_file");
    const fs::path lib = write_text(dir / "plugins" / "cap_criterion_broken.so", "not ELF");
    const std::string says = lib.string() + ": not a shared library (file too short)";

    auto listed = run_cap("plugins --plugin-path " + lib.parent_path().string());
    INFO(listed.output);
    CHECK(listed.output.find(says) != std::string::npos);
    auto checked = run_cap("check-plugin " + lib.string());
    INFO(checked.output);
    CHECK(checked.exit_code == 1);
    CHECK(checked.output.find(says) != std::string::npos);
    for (const auto* output : {&listed.output, &checked.output}) {
        CHECK(output->find("boost::dll") == std::string::npos);
        CHECK(output->find("Bad file descriptor") == std::string::npos);
    }

    const fs::path recipe = write_text(dir / "recipe.toml",
                                       "[run]\nname = \"x\"\n[model]\npretrained = \"builtin:bert-tiny\"\n"
                                       "[task]\nname = \"synthetic\"\n[criterion]\nplugin = \"broken\"\n"
                                       "[schedule]\nplugin = \"one_shot\"\n");
    auto r = run_cap("run " + recipe.string() + " --plugin-path " + lib.parent_path().string() + " --out " +
                     (dir / "run").string());
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("unknown criterion plugin 'broken'") != std::string::npos);
    CHECK(r.output.find(lib.string() + " was rejected: " + says) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("bad input: recipes with a value of the wrong type or range, or nothing to do") {
    const std::string run = "[run]\nname = \"bad\"\n[model]\npretrained = \"builtin:bert-tiny\"\n";
    const std::string task = "[task]\nname = \"synthetic\"\nmax_train_examples = 64\nmax_eval_examples = 32\n";
    const std::string prune = "[criterion]\nplugin = \"movement\"\n[schedule]\nplugin = \"cubic\"\n";

    // A string where an integer belongs: the line and key, not "std::get".
    refused("recipe_type", run + "[task]\nname = \"synthetic\"\nmax_seq_length = \"long\"\n",
            "recipe.toml:7:18: error: max_seq_length must be an integer, not string");
    // Nothing to do: an empty recipe, or one without a task.
    refused("recipe_empty", "", "recipe.toml:1:1: error: the recipe has no [task]");
    refused("recipe_no_task", run, "recipe.toml:1:1: error: the recipe has no [task]");
    // A fraction of weights kept outside [0, 1].
    refused("recipe_threshold", run + task + prune + "final_threshold = 1.5\n", "recipe.toml:13:19: error: ");
    refused("recipe_threshold", run + task + prune + "final_threshold = 1.5\n", "final_threshold");
    // Pruning with half of what it needs, caught before the teacher is fine-tuned.
    refused("recipe_no_schedule", run + task + "[criterion]\nplugin = \"movement\"\n",
            "recipe.toml:10:10: error: [criterion] prunes, and pruning needs a [schedule] too");
    refused("recipe_no_criterion", run + task + "[schedule]\nplugin = \"cubic\"\n",
            "recipe.toml:10:10: error: [schedule] says when to prune, and pruning needs a [criterion] too");

    // The same through --unset on the command line.
    const fs::path dir = cap::test::scratch_dir("recipe_unset");
    const fs::path recipe = write_text(dir / "recipe.toml", run + task + prune);
    auto ok = run_cap("validate " + recipe.string());
    INFO(ok.output);
    CHECK(ok.exit_code == 0);
    auto unset = run_cap("run " + recipe.string() + " --unset schedule --out " + (dir / "run").string());
    INFO(unset.output);
    CHECK(unset.exit_code == 2);
    CHECK(unset.output.find("recipe.toml:10:10: error: [criterion] prunes, and pruning needs a [schedule] too") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(dir / "run"));
}

TEST_CASE("bad input: a safetensors header with random byte flips never crashes and never overlaps") {
    // A valid file of a few tensors; each case flips 1-4 random bytes in its first 4 KiB (the
    // header length and the JSON header) and reads it back.
    const fs::path dir = cap::test::scratch_dir("safetensors_fuzz");
    std::vector<float> a(64, 1.0f), b(32, 2.0f), c(16, 3.0f);
    const std::string good = cap::hf::encode_safetensors({{"encoder.a", "F32", {8, 8}, a.data(), a.size() * 4},
                                                          {"encoder.b", "F32", {32}, b.data(), b.size() * 4},
                                                          {"head.c", "F32", {4, 4}, c.data(), c.size() * 4}},
                                                         {{"format", "pt"}});
    std::mt19937 rng(20261130);
    int accepted = 0, refused_count = 0;
    for (int i = 0; i < 400; ++i) {
        std::string bytes = good;
        const size_t span = std::min<size_t>(bytes.size(), 4096);
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) bytes[rng() % span] = static_cast<char>(rng() % 256);
        const fs::path file = dir / "case.safetensors";
        std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
        try {
            const auto read = cap::hf::read_safetensors_bytes(file);
            ++accepted;
            // Accepted: every tensor lies inside the data and no two share a byte.
            std::vector<std::pair<uint64_t, uint64_t>> ranges;
            for (const auto& e : read.header.entries) {
                CHECK(e.begin <= e.end);
                CHECK(e.end <= read.header.data_size);
                CHECK(read.header.data_offset + read.header.data_size == bytes.size());
                if (e.end > e.begin) ranges.emplace_back(e.begin, e.end);
            }
            std::sort(ranges.begin(), ranges.end());
            for (size_t k = 1; k < ranges.size(); ++k) CHECK(ranges[k].first >= ranges[k - 1].second);
        } catch (const std::runtime_error& e) {
            ++refused_count;
            const std::string message = e.what();
            CHECK(message.find(file.string()) != std::string::npos);
            check_own_words(message);
        }
    }
    MESSAGE(accepted << " accepted, " << refused_count << " refused of 400 flipped headers");
    CHECK(refused_count > 100);
}

TEST_CASE("bad input: library errors reach the user without their tags and C++ stacks") {
    // LibTorch's own error for an impossible view: its sentence is kept, its stack is not.
    std::string libtorch;
    try {
        (void)at::ones({2}).view({3});
    } catch (const std::exception& e) {
        libtorch = e.what();
        const std::string shown = cap::util::error_text(e);
        CHECK(shown.find("shape '[3]' is invalid for input of size 2") != std::string::npos);
        check_own_words(shown);
    }
    REQUIRE_FALSE(libtorch.empty());
    try {
        const auto parsed = nlohmann::json::parse("{oops}");
        CHECK(parsed.is_null());  // not reached: the parse throws
    } catch (const std::exception& e) {
        CHECK(std::string(e.what()).find("[json.exception.parse_error.101]") == 0);
        const std::string shown = cap::util::error_text(e);
        CHECK(shown.rfind("parse error at line 1, column 2", 0) == 0);
        check_own_words(shown);
    }
}
