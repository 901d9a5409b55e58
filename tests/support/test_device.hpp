// The device the device-aware tests (model, training, precision) run on: CAP_TEST_BACKEND=cuda
// puts them on the GPU (bench/gpu/check.sh does), unset or "cpu" on the CPU. Where cuda is asked
// for and LibTorch sees no GPU they skip, visibly.
#pragma once

#include <c10/core/Device.h>
#include <cap/abi.h>
#include <doctest/doctest.h>

#include <optional>

namespace cap::test {

// The device CAP_TEST_BACKEND names; nullopt when it is cuda and no GPU is seen. Throws on a
// name other than cpu or cuda.
std::optional<c10::Device> test_device();

// The execution context a backend on `device` hands the plugins (LibTorch's current stream).
cap_exec_context exec_context(const c10::Device& device);

}  // namespace cap::test

// Declares `const c10::Device name` or returns from the test case with a visible skip.
#define CAP_TEST_DEVICE(name)                                                  \
    const auto name##_or_none = cap::test::test_device();                      \
    if (!name##_or_none) {                                                     \
        MESSAGE("SKIP: CAP_TEST_BACKEND=cuda, but LibTorch sees no GPU here"); \
        return;                                                                \
    }                                                                          \
    const c10::Device name = *name##_or_none
