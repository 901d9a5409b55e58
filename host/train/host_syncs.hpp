#pragma once
// Counts the operations that make the host wait for the device: a scalar read back (`.item()`),
// ops whose output size depends on the data (nonzero, masked_select, unique) and copies from a
// device to host memory. On a GPU each one stalls the CPU until the queued kernels finish, so a
// training step should need a few, whatever the model's depth.
//
// Off unless CAP_COUNT_HOST_SYNCS=1 is set: the observer sees every ATen call and costs time.
// With it, each metrics.jsonl train event gains `host_syncs_per_step` (docs/speed.md).
#include <cstdint>

namespace cap::train {

// True when CAP_COUNT_HOST_SYNCS is set to 1; the first call installs the observer (once per process).
bool host_sync_counting();

// Syncs counted so far in this process, on any thread (0 when counting is off).
int64_t host_syncs();

}  // namespace cap::train
