// Deterministic faults for the resume tests: CAP_FAULT=<point>:<n>[:TERM] (e.g.
// "prune.step:37" after run-wide step 37 of stage "prune", "stage-00.epoch:2" after that stage's
// second epoch, "selected:1" after stage 1's selection, "prune.step:13:TERM") makes the process SIGKILL itself (or send
// itself SIGTERM, which takes the polite-stop path) when it reaches that point, after the work of that point and any
// checkpoint it writes. Tests choose kill points by step count instead of by sleeping; without
// CAP_FAULT each call is one comparison.
#pragma once

#include <cstdint>

namespace cap::util {

void fault_point(const char* point, int64_t n);

}  // namespace cap::util
