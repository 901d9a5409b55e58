#include "train/lr_schedule.hpp"

#include <algorithm>

namespace cap::train {

double LinearSchedule::factor(int64_t step) const {
    if (step < warmup_) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_));
    return std::max(0.0,
                    static_cast<double>(total_ - step) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_)));
}

}  // namespace cap::train
