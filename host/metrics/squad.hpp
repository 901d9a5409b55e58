// The official SQuAD v1.1 evaluation: answers normalised (lowercase, no punctuation, no
// articles, single spaces), exact match and token F1 against the best-matching gold answer.
#pragma once

#include <string>
#include <vector>

namespace cap::metrics {

std::string normalize_answer(const std::string& text);
double exact_match(const std::string& prediction, const std::string& gold);  // 0 or 1
double token_f1(const std::string& prediction, const std::string& gold);     // 0..1

struct SquadScore {
    double exact_match = 0;  // percent
    double f1 = 0;           // percent
};

// predictions[i] is scored against golds[i] (the max over its gold answers).
SquadScore squad_score(const std::vector<std::string>& predictions, const std::vector<std::vector<std::string>>& golds);

}  // namespace cap::metrics
