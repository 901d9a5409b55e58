// Mixed precision as PyTorch's autocast applies it: inside a scope, matrix products (linear,
// matmul, bmm) run in a lower-precision dtype while parameters, optimizer state and everything
// else stay float32. One class over LibTorch's two APIs (1.13's per-backend setters, 2.4+'s
// per-device-type ones).
#pragma once

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace cap::model {

// Whether LibTorch can autocast on `device` to `dtype` (bfloat16: CPU and CUDA; float16: CUDA);
// if not, the reason, else "".
std::string autocast_unsupported(c10::DeviceType device, c10::ScalarType dtype);

// Enables autocast to `dtype` on `device` for its lifetime and restores the previous state on
// exit (clearing LibTorch's cache of cast weights when the outermost scope closes). `dtype`
// float32 makes it a no-op. Thread-local, as LibTorch's autocast state is.
class AutocastScope {
public:
    AutocastScope(c10::DeviceType device, c10::ScalarType dtype);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool active_ = false;
    c10::DeviceType device_;
    bool was_enabled_ = false;
    c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

}  // namespace cap::model
