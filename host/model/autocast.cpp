#include "model/autocast.hpp"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <stdexcept>

// LibTorch 2.4 replaced the per-backend functions (set_cpu_enabled, set_autocast_gpu_dtype, ...)
// by ones taking the device type, and deprecated the old.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define CAP_AUTOCAST_BY_DEVICE_TYPE 1
#else
#define CAP_AUTOCAST_BY_DEVICE_TYPE 0
#endif

namespace cap::model {

namespace {

bool enabled(c10::DeviceType device) {
#if CAP_AUTOCAST_BY_DEVICE_TYPE
    return at::autocast::is_autocast_enabled(device);
#else
    return device == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

c10::ScalarType dtype_of(c10::DeviceType device) {
#if CAP_AUTOCAST_BY_DEVICE_TYPE
    return at::autocast::get_autocast_dtype(device);
#else
    return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                           : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set(c10::DeviceType device, bool on, c10::ScalarType dtype) {
#if CAP_AUTOCAST_BY_DEVICE_TYPE
    at::autocast::set_autocast_dtype(device, dtype);
    at::autocast::set_autocast_enabled(device, on);
#else
    if (device == c10::DeviceType::CUDA) {
        at::autocast::set_autocast_gpu_dtype(dtype);
        at::autocast::set_enabled(on);
    } else {
        at::autocast::set_autocast_cpu_dtype(dtype);
        at::autocast::set_cpu_enabled(on);
    }
#endif
}

}  // namespace

std::string autocast_unsupported(c10::DeviceType device, c10::ScalarType dtype) {
    if (dtype == c10::ScalarType::Float) return "";
    if (dtype != c10::ScalarType::BFloat16 && dtype != c10::ScalarType::Half)
        return std::string("autocast to ") + c10::toString(dtype) + " is not supported (bfloat16 or float16)";
    if (device == c10::DeviceType::CUDA) return "";
    if (device == c10::DeviceType::CPU) {
        if (dtype == c10::ScalarType::BFloat16) return "";
        return "float16 autocast needs CUDA; on the CPU use bfloat16";
    }
    return std::string("autocast is not supported on ") + c10::DeviceTypeName(device);
}

AutocastScope::AutocastScope(c10::DeviceType device, c10::ScalarType dtype) : device_(device) {
    if (dtype == c10::ScalarType::Float) return;
    const std::string why = autocast_unsupported(device, dtype);
    if (!why.empty()) throw std::invalid_argument(why);
    was_enabled_ = enabled(device);
    previous_dtype_ = dtype_of(device);
    set(device, true, dtype);
    at::autocast::increment_nesting();
    active_ = true;
}

AutocastScope::~AutocastScope() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(device_, was_enabled_, previous_dtype_);
}

}  // namespace cap::model
