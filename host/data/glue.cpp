#include "data/glue.hpp"

#include <fstream>
#include <map>
#include <stdexcept>

#include "text/unicode.hpp"

namespace cap::data {

namespace {

const std::vector<GlueTaskSpec>& specs() {
    static const std::vector<GlueTaskSpec> all = {
        {"sst2", "sentence", "", "label", {"0", "1"}, {"dev.tsv"}, {""}, false},
        // The order of the Hugging Face datasets, which the reference forces for MNLI teachers.
        {"mnli",
         "sentence1",
         "sentence2",
         "gold_label",
         {"entailment", "neutral", "contradiction"},
         {"dev_matched.tsv", "dev_mismatched.tsv"},
         {"matched", "mismatched"},
         false},
        {"qqp", "question1", "question2", "is_duplicate", {"0", "1"}, {"dev.tsv"}, {""}, true},
        {"qnli", "question", "sentence", "label", {"entailment", "not_entailment"}, {"dev.tsv"}, {""}, false},
        {"rte", "sentence1", "sentence2", "label", {"entailment", "not_entailment"}, {"dev.tsv"}, {""}, false},
        {"wnli", "sentence1", "sentence2", "label", {"0", "1"}, {"dev.tsv"}, {""}, false},
        {"mrpc", "#1 String", "#2 String", "Quality", {"0", "1"}, {"dev.tsv"}, {""}, true},
    };
    return all;
}

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t tab = line.find('\t', start);
        out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) break;
        start = tab + 1;
    }
    return out;
}

}  // namespace

const GlueTaskSpec* find_glue_task(const std::string& name) {
    for (const auto& s : specs())
        if (s.name == name) return &s;
    return nullptr;
}

std::vector<std::string> glue_task_names() {
    std::vector<std::string> out;
    for (const auto& s : specs()) out.push_back(s.name);
    return out;
}

std::vector<TextExample> read_glue_tsv(const std::filesystem::path& path, const GlueTaskSpec& spec) {
    const std::string file = path.string();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw std::runtime_error(file + " is a folder, not a TSV file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file);
    std::string line;
    if (!std::getline(in, line)) throw std::runtime_error(file + ":1: empty file (expected a header row)");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a BOM, as spreadsheet programs write
    if (const std::string problem = text::utf8_problem(line); !problem.empty())
        throw std::runtime_error(file + ":1: " + problem + " (cap reads UTF-8 text)");
    const auto header = split_tabs(line);
    auto column = [&](const std::string& name) -> size_t {
        for (size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return i;
        throw std::runtime_error(file + ":1: no column '" + name + "' in the header (task " + spec.name + ")");
    };
    const size_t col_a = column(spec.text_a);
    // A plain index and a flag: GCC 12 warns of an uninitialised std::optional<size_t> here.
    const bool has_b = !spec.text_b.empty();
    const size_t col_b = has_b ? column(spec.text_b) : 0;
    const size_t col_label = column(spec.label);
    std::map<std::string, int64_t> label_ids;
    for (size_t i = 0; i < spec.labels.size(); ++i) label_ids[spec.labels[i]] = static_cast<int64_t>(i);

    std::vector<TextExample> out;
    int64_t number = 1;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (const std::string problem = text::utf8_problem(line); !problem.empty())
            throw std::runtime_error(file + ":" + std::to_string(number) + ": " + problem + " (cap reads UTF-8 text)");
        const auto fields = split_tabs(line);
        if (fields.size() != header.size())
            throw std::runtime_error(file + ":" + std::to_string(number) + ": " + std::to_string(fields.size()) +
                                     " columns, the header has " + std::to_string(header.size()));
        auto label = label_ids.find(fields[col_label]);
        if (label == label_ids.end()) {
            std::string valid;
            for (const auto& l : spec.labels) valid += (valid.empty() ? "" : ", ") + l;
            throw std::runtime_error(file + ":" + std::to_string(number) + ": label '" + fields[col_label] +
                                     "' is not one of " + valid);
        }
        TextExample e;
        e.a = fields[col_a];
        if (has_b) e.b = fields[col_b];
        e.label = label->second;
        e.line = number;
        out.push_back(std::move(e));
    }
    // Accuracy over no examples would print 0 and exit 0: an empty split is an error.
    if (out.empty()) throw std::runtime_error(file + ": no examples after the header row");
    return out;
}

}  // namespace cap::data
