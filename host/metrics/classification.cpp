#include "metrics/classification.hpp"

#include <stdexcept>

namespace cap::metrics {

namespace {
void check(const std::vector<int64_t>& p, const std::vector<int64_t>& l) {
    if (p.size() != l.size()) throw std::invalid_argument("predictions and labels differ in length");
}
}  // namespace

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
    check(predictions, labels);
    if (labels.empty()) return 0;
    size_t correct = 0;
    for (size_t i = 0; i < labels.size(); ++i) correct += predictions[i] == labels[i];
    return 100.0 * static_cast<double>(correct) / static_cast<double>(labels.size());
}

double binary_f1(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
    check(predictions, labels);
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        tp += predictions[i] == 1 && labels[i] == 1;
        fp += predictions[i] == 1 && labels[i] != 1;
        fn += predictions[i] != 1 && labels[i] == 1;
    }
    return tp == 0 ? 0.0 : 100.0 * 2 * tp / (2 * tp + fp + fn);
}

}  // namespace cap::metrics
