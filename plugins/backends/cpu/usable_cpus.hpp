// The CPUs this process was given, which is what `threads = 0` means: the affinity mask (taskset,
// cgroup cpusets, srun's binding), capped by SLURM_CPUS_PER_TASK when Slurm set it. Not the
// node's core count: under `srun -c1` or `taskset -c 0`, more threads than CPUs only contend.
#pragma once

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

namespace cap::backends {

struct UsableCpus {
    int count = 1;
    std::string reason;  // "affinity mask", "SLURM_CPUS_PER_TASK", or "cores"
};

inline UsableCpus usable_cpus() {
    UsableCpus u;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
        u.count = CPU_COUNT(&set);
        u.reason = "affinity mask";
    } else {
        u.count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        u.reason = "cores";
    }
    if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK")) {
        char* end = nullptr;
        const long n = std::strtol(slurm, &end, 10);
        if (end != slurm && *end == '\0' && n > 0 && n < u.count) {
            u.count = static_cast<int>(n);
            u.reason = "SLURM_CPUS_PER_TASK";
        }
    }
    return u;
}

}  // namespace cap::backends
