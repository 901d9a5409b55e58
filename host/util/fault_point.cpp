#include "util/fault_point.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cap::util {

void fault_point(const char* point, int64_t n) {
    static const std::string wanted = [] {
        const char* env = std::getenv("CAP_FAULT");
        return std::string(env ? env : "");
    }();
    if (wanted.empty()) return;
    const std::string here = std::string(point) + ":" + std::to_string(n);
    if (wanted == here) {
        std::fprintf(stderr, "cap: CAP_FAULT=%s: killing the process here\n", wanted.c_str());
        std::fflush(stderr);
        std::raise(SIGKILL);
    } else if (wanted == here + ":TERM") {
        std::fprintf(stderr, "cap: CAP_FAULT=%s: sending SIGTERM to the process here\n", wanted.c_str());
        std::fflush(stderr);
        std::raise(SIGTERM);
    }
}

}  // namespace cap::util
