// Seeds for independent random streams of one run: the run's seed mixed with a stream name
// ("student", "data-order", a plugin's own name), the same on every platform.
#pragma once

#include <cstdint>

namespace cap::util {

// `stream` NULL: the seed itself.
uint64_t derive_seed(uint64_t seed, const char* stream);

}  // namespace cap::util
