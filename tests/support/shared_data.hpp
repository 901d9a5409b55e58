// Real data and checkpoints live outside the repository: $CAP_DATA_DIR (GLUE, SQuAD, the
// vocabulary) and $CAP_MODELS_DIR (small BERT checkpoints; default: $CAP_DATA_DIR/../models).
// Tests that need them call these and skip, visibly, when they are absent.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <optional>

namespace cap::test {

std::optional<std::filesystem::path> data_dir();
std::optional<std::filesystem::path> models_dir();

}  // namespace cap::test

// Returns from the test case with a visible skip message when `path_opt` is empty.
#define CAP_REQUIRE_SHARED(path_opt, what)                                           \
    do {                                                                             \
        if (!(path_opt)) {                                                           \
            MESSAGE("SKIP: " what " not found (set CAP_DATA_DIR / CAP_MODELS_DIR)"); \
            return;                                                                  \
        }                                                                            \
    } while (0)
