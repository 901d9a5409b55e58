#include "data/squad.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "text/unicode.hpp"
#include "util/error_text.hpp"

namespace cap::data {

namespace {

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where,
                            const std::string& file) {
    if (!j.is_object() || !j.contains(key)) throw std::runtime_error(file + ": " + where + ": missing '" + key + "'");
    return j[key];
}

std::string text_field(const nlohmann::json& j, const char* key, const std::string& where, const std::string& file) {
    const auto& v = field(j, key, where, file);
    if (!v.is_string()) throw std::runtime_error(file + ": " + where + "." + key + " is not a string");
    return v.get<std::string>();
}

}  // namespace

std::vector<SquadExample> read_squad(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw std::runtime_error(file + " is a folder, not a SQuAD JSON file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        const size_t byte = std::min<size_t>(e.byte, text.size());
        const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(byte), '\n');
        throw std::runtime_error(file + ":" + std::to_string(line) + ": invalid JSON: " + util::error_text(e));
    }
    const auto& data = field(root, "data", "top level", file);
    if (!data.is_array()) throw std::runtime_error(file + ": 'data' is not an array");
    std::vector<SquadExample> out;
    for (size_t a = 0; a < data.size(); ++a) {
        const std::string article = "data[" + std::to_string(a) + "]";
        const auto& paragraphs = field(data[a], "paragraphs", article, file);
        for (size_t p = 0; p < paragraphs.size(); ++p) {
            const std::string para = article + ".paragraphs[" + std::to_string(p) + "]";
            const std::string context = text_field(paragraphs[p], "context", para, file);
            const auto& qas = field(paragraphs[p], "qas", para, file);
            // answer_start counts characters (code points); cap works in UTF-8 bytes.
            std::vector<int64_t> byte_of;
            for (size_t b = 0; b < context.size(); ++b)
                if ((static_cast<unsigned char>(context[b]) & 0xC0) != 0x80) byte_of.push_back(static_cast<int64_t>(b));
            byte_of.push_back(static_cast<int64_t>(context.size()));
            for (size_t q = 0; q < qas.size(); ++q) {
                const std::string where = para + ".qas[" + std::to_string(q) + "]";
                SquadExample e;
                e.id = text_field(qas[q], "id", where, file);
                e.question = text_field(qas[q], "question", where, file);
                // An empty question leaves the model nothing to answer; SQuAD has none.
                if (text::python_split(e.question).empty())
                    throw std::runtime_error(file + ": " + where + ".question (id '" + e.id + "') is empty");
                e.context = context;
                const auto& answers = field(qas[q], "answers", where, file);
                for (size_t k = 0; k < answers.size(); ++k) {
                    const std::string aw = where + ".answers[" + std::to_string(k) + "]";
                    e.answers.push_back(text_field(answers[k], "text", aw, file));
                    const auto& start = field(answers[k], "answer_start", aw, file);
                    if (!start.is_number_integer() || start.get<int64_t>() < 0 || start.get<size_t>() >= byte_of.size())
                        throw std::runtime_error(file + ": " + aw +
                                                 ".answer_start is not a character offset in the context");
                    e.answer_starts.push_back(byte_of[start.get<size_t>()]);
                }
                out.push_back(std::move(e));
            }
        }
    }
    // F1 over no questions would print 0 and exit 0: an empty split is an error.
    if (out.empty()) throw std::runtime_error(file + ": no questions (every 'qas' list is empty)");
    return out;
}

std::vector<SquadFeature> squad_features(const std::vector<SquadExample>& examples,
                                         const text::WordPieceTokenizer& tokenizer, const SquadWindowing& w) {
    const auto& vocab = tokenizer.vocabulary();
    std::vector<SquadFeature> out;
    for (size_t ex = 0; ex < examples.size(); ++ex) {
        const auto& e = examples[ex];
        // Leading whitespace of questions wastes window room, as the HF example notes.
        std::vector<int32_t> question = tokenizer.ids(e.question);
        if (static_cast<int64_t>(question.size()) > w.max_query_length)
            question.resize(static_cast<size_t>(w.max_query_length));
        const auto context = tokenizer.tokenize(e.context);
        const int64_t room = w.max_length - static_cast<int64_t>(question.size()) - 3;
        if (room <= w.doc_stride)
            throw std::runtime_error("max_seq_length leaves " + std::to_string(room) +
                                     " context tokens per window, not more than doc_stride");
        // Answer character span (the first gold answer is the training target).
        int64_t answer_begin = -1, answer_end = -1;
        if (!e.answers.empty()) {
            answer_begin = e.answer_starts[0];
            answer_end = answer_begin + static_cast<int64_t>(e.answers[0].size());
        }
        const auto n = static_cast<int64_t>(context.size());
        for (int64_t start = 0;; start += room - w.doc_stride) {
            const int64_t end = std::min(n, start + room);
            SquadFeature f;
            f.example = static_cast<int64_t>(ex);
            auto push = [&](int32_t id, int8_t type, std::pair<int32_t, int32_t> offset) {
                f.input.ids.push_back(id);
                f.input.types.push_back(type);
                f.offsets.push_back(offset);
            };
            push(vocab.cls_id(), 0, {-1, -1});
            for (int32_t id : question) push(id, 0, {-1, -1});
            push(vocab.sep_id(), 0, {-1, -1});
            const int64_t first_context = static_cast<int64_t>(f.input.ids.size());
            for (int64_t t = start; t < end; ++t)
                push(context[t].id, 1, {static_cast<int32_t>(context[t].begin), static_cast<int32_t>(context[t].end)});
            push(vocab.sep_id(), 1, {-1, -1});
            const int64_t last_context = static_cast<int64_t>(f.input.ids.size()) - 2;
            // The answer must lie wholly inside the window; otherwise the target is [CLS].
            if (answer_begin >= 0 && end > start && f.offsets[first_context].first <= answer_begin &&
                f.offsets[last_context].second >= answer_end) {
                int64_t s = first_context;
                while (s <= last_context && f.offsets[s].first <= answer_begin) ++s;
                int64_t t = last_context;
                while (t >= first_context && f.offsets[t].second >= answer_end) --t;
                f.start_position = s - 1;
                f.end_position = t + 1;
            }
            out.push_back(std::move(f));
            if (end >= n) break;
        }
    }
    return out;
}

std::vector<std::string> squad_predictions(const std::vector<SquadExample>& examples,
                                           const std::vector<SquadFeature>& features,
                                           const std::vector<at::Tensor>& start_logits,
                                           const std::vector<at::Tensor>& end_logits,
                                           const SquadPostprocessing& options) {
    std::vector<std::vector<size_t>> by_example(examples.size());
    for (size_t i = 0; i < features.size(); ++i) by_example.at(static_cast<size_t>(features[i].example)).push_back(i);
    std::vector<std::string> out(examples.size());
    for (size_t ex = 0; ex < examples.size(); ++ex) {
        double best = -INFINITY;
        for (size_t fi : by_example[ex]) {
            const auto& f = features[fi];
            at::Tensor s = start_logits.at(fi).to(at::kFloat), e = end_logits.at(fi).to(at::kFloat);
            const int64_t length = static_cast<int64_t>(f.offsets.size());
            const int64_t k = std::min<int64_t>(options.n_best, length);
            s = s.contiguous();
            e = e.contiguous();
            const at::Tensor starts = std::get<1>(s.narrow(0, 0, length).topk(k)).contiguous();
            const at::Tensor ends = std::get<1>(e.narrow(0, 0, length).topk(k)).contiguous();
            const int64_t* si = starts.data_ptr<int64_t>();
            const int64_t* ei = ends.data_ptr<int64_t>();
            const float* sp = s.data_ptr<float>();
            const float* ep = e.data_ptr<float>();
            for (int64_t a = 0; a < k; ++a)
                for (int64_t b = 0; b < k; ++b) {
                    const int64_t i = si[a], j = ei[b];
                    if (f.offsets[i].first < 0 || f.offsets[j].first < 0) continue;  // not context
                    if (j < i || j - i + 1 > options.max_answer_length) continue;
                    const double score = static_cast<double>(sp[i]) + ep[j];
                    if (score > best) {
                        best = score;
                        const auto& context = examples[ex].context;
                        out[ex] = context.substr(static_cast<size_t>(f.offsets[i].first),
                                                 static_cast<size_t>(f.offsets[j].second - f.offsets[i].first));
                    }
                }
        }
    }
    return out;
}

}  // namespace cap::data
