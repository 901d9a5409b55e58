// Classification metrics as GLUE reports them (in percent).
#pragma once

#include <cstdint>
#include <vector>

namespace cap::metrics {

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
// F1 of the positive class (label 1), as sklearn's f1_score for QQP and MRPC.
double binary_f1(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);

}  // namespace cap::metrics
