// Hugging Face's get_linear_schedule_with_warmup: the learning rate rises linearly over the
// warm-up steps and falls linearly to zero at the last step. Step s uses base * factor(s), so
// the first step of a warm-up has a learning rate of zero.
#pragma once

#include <cstdint>

namespace cap::train {

class LinearSchedule {
public:
    LinearSchedule(int64_t warmup_steps, int64_t total_steps) : warmup_(warmup_steps), total_(total_steps) {}
    double factor(int64_t step) const;

private:
    int64_t warmup_, total_;
};

}  // namespace cap::train
