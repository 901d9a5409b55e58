#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "util/logging.hpp"

int main(int argc, char** argv) {
    // Plugin log lines go to stderr like in `cap`; keep them quiet unless something is wrong.
    cap::util::init_logging(spdlog::level::warn);
    doctest::Context context(argc, argv);
    return context.run();
}
