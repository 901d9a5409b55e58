// GLUE tasks as TSV files, read by header name: which columns hold the text and the label, the
// label set in id order, and the dev files a task is evaluated on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cap::data {

struct GlueTaskSpec {
    std::string name;                    // "sst2"
    std::string text_a, text_b;          // header names; text_b empty for one sentence
    std::string label;                   // header name of the label column
    std::vector<std::string> labels;     // label values in id order
    std::vector<std::string> dev_files;  // e.g. {"dev.tsv"} or {"dev_matched.tsv", "dev_mismatched.tsv"}
    std::vector<std::string> dev_names;  // metric prefixes, "" for the only split
    bool reports_f1 = false;             // QQP and MRPC report F1 next to accuracy
};

const GlueTaskSpec* find_glue_task(const std::string& name);
std::vector<std::string> glue_task_names();

struct TextExample {
    std::string a;
    std::optional<std::string> b;
    int64_t label = -1;
    int64_t line = 0;  // 1-based line in the file
};

// Reads a GLUE TSV; every malformed row (wrong column count, unknown label) is an error naming
// the file and line. Throws std::runtime_error.
std::vector<TextExample> read_glue_tsv(const std::filesystem::path& file, const GlueTaskSpec& spec);

}  // namespace cap::data
