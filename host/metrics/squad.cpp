#include "metrics/squad.hpp"

#include "text/unicode.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace cap::metrics {

namespace {

// Python's string.punctuation.
bool is_ascii_punctuation(unsigned char c) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

std::vector<std::string> split(const std::string& s) { return text::python_split(s); }

}  // namespace

std::string normalize_answer(const std::string& answer) {
    // lower -> remove punctuation -> remove articles -> fix whitespace (the official order is
    // white_space_fix(remove_articles(remove_punc(lower(s))))).
    const std::string lowered = text::python_lower(answer);
    std::string no_punct;
    for (unsigned char c : lowered)
        if (!is_ascii_punctuation(c)) no_punct += static_cast<char>(c);
    std::string out;
    for (const auto& w : split(no_punct)) {
        if (w == "a" || w == "an" || w == "the") continue;
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

double exact_match(const std::string& prediction, const std::string& gold) {
    return normalize_answer(prediction) == normalize_answer(gold) ? 1.0 : 0.0;
}

double token_f1(const std::string& prediction, const std::string& gold) {
    const auto p = split(normalize_answer(prediction));
    const auto g = split(normalize_answer(gold));
    std::map<std::string, int> counts;
    for (const auto& w : g) ++counts[w];
    int common = 0;
    for (const auto& w : p)
        if (counts[w] > 0) {
            --counts[w];
            ++common;
        }
    if (common == 0) return 0.0;
    const double precision = static_cast<double>(common) / static_cast<double>(p.size());
    const double recall = static_cast<double>(common) / static_cast<double>(g.size());
    return 2 * precision * recall / (precision + recall);
}

SquadScore squad_score(const std::vector<std::string>& predictions,
                       const std::vector<std::vector<std::string>>& golds) {
    if (predictions.size() != golds.size()) throw std::invalid_argument("predictions and answers differ in length");
    SquadScore s;
    if (predictions.empty()) return s;
    for (size_t i = 0; i < predictions.size(); ++i) {
        double em = 0, f1 = 0;
        for (const auto& g : golds[i]) {
            em = std::max(em, exact_match(predictions[i], g));
            f1 = std::max(f1, token_f1(predictions[i], g));
        }
        s.exact_match += em;
        s.f1 += f1;
    }
    s.exact_match *= 100.0 / static_cast<double>(predictions.size());
    s.f1 *= 100.0 / static_cast<double>(predictions.size());
    return s;
}

}  // namespace cap::metrics
