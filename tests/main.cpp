#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "system/process_tuning.hpp"
#include "util/logging.hpp"

int main(int argc, char** argv) {
    // As in cap: timings and training tests must see the same threading as the tool.
    cap::sys::ensure_passive_openmp(argv);
    cap::sys::keep_freed_memory();
    // Plugin log lines go to stderr like in `cap`; keep them quiet unless something is wrong.
    cap::util::init_logging(spdlog::level::warn);
    doctest::Context context(argc, argv);
    return context.run();
}
