// Process-wide settings that LibTorch on a small CPU machine needs, applied at the top of main().
#pragma once

namespace cap::sys {

// GNU OpenMP (LibTorch's threads) spins after every parallel region, and on a 2-core machine the
// spinning starves OpenBLAS's own threads: small matrix products ran 7x slower here. libgomp
// reads OMP_WAIT_POLICY only when it loads, so when the user has not chosen a policy this sets
// "passive" and restarts the program once (execv of /proc/self/exe); it returns normally when
// nothing needs to change or the restart fails.
void ensure_passive_openmp(char** argv);

// Keeps freed tensor memory in the heap instead of returning it to the system after every step
// (glibc maps and unmaps large blocks by default: a page fault per fresh tensor).
void keep_freed_memory();

}  // namespace cap::sys
