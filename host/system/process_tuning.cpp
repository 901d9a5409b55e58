#include "system/process_tuning.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

namespace cap::sys {

void ensure_passive_openmp(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY")) return;  // the user's choice, or already restarted
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv);
    // Still here: the restart failed; run on with the spinning policy rather than not at all.
}

void keep_freed_memory() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc accepts
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace cap::sys
