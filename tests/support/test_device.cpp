#include "support/test_device.hpp"

#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace cap::test {

std::optional<c10::Device> test_device() {
    const char* env = std::getenv("CAP_TEST_BACKEND");
    const std::string name = env ? env : "";
    if (name.empty() || name == "cpu") return c10::Device(c10::kCPU);
    if (name != "cuda") throw std::invalid_argument("CAP_TEST_BACKEND=" + name + ": cpu or cuda");
    if (!at::hasCUDA() || at::detail::getCUDAHooks().getNumGPUs() == 0) return std::nullopt;
    return c10::Device(c10::kCUDA, 0);
}

cap_exec_context exec_context(const c10::Device& device) {
    cap_exec_context ctx{};
    ctx.struct_size = sizeof(ctx);
    ctx.device.device_type = device.is_cuda() ? kDLCUDA : kDLCPU;
    ctx.device.device_id = device.is_cuda() ? device.index() : 0;
    ctx.num_threads = device.is_cuda() ? 0 : 1;
    return ctx;
}

}  // namespace cap::test
