// backends/cuda: LibTorch on an NVIDIA GPU.
//
// Built against the same LibTorch as everything else. With a CUDA LibTorch (the one inside
// PyPI's torch wheel; CAP_WITH_CUDA) it uses CUDA itself: the chosen device is made current,
// work runs on LibTorch's current stream of that device (handed to plugins in the context),
// synchronize() waits for that stream, and memory figures come from the CUDA caching allocator.
// With a CPU-only LibTorch such as Debian's it compiles through the device-generic hooks and
// explains itself: probe() says that this LibTorch has no CUDA, and a recipe asking for `cuda`
// fails validation with that reason.
#include <ATen/Context.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/version.h>

#if CAP_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

#include <sstream>

#include "cap/plugin_torch.hpp"

namespace {

std::string unavailable_reason(int64_t device) {
#if CAP_WITH_CUDA
    // at::hasCUDA() is false here too when no GPU is seen: say which of the two it is.
    const int count = c10::cuda::device_count();
    if (count == 0)
        return std::string("this LibTorch (") + TORCH_VERSION +
               ", CUDA) sees no GPU (check the driver, nvidia-smi and CUDA_VISIBLE_DEVICES)";
#else
    if (!at::hasCUDA())
        return std::string("this LibTorch (") + TORCH_VERSION +
               ") was built without CUDA support; install a CUDA build of LibTorch";
    int count = at::detail::getCUDAHooks().getNumGPUs();
    if (count == 0) return "LibTorch has CUDA but sees no GPU (check the driver and CUDA_VISIBLE_DEVICES)";
#endif
    if (device >= count)
        return "device " + std::to_string(device) + " requested but only " + std::to_string(count) +
               " GPU(s) are visible";
    return "";
}

class CudaBackend : public cap::Backend {
public:
    static cap::Metadata metadata() {
        return {"cuda",
                "1.0.0",
                "LibTorch on an NVIDIA GPU (needs a CUDA build of LibTorch)",
                {cap::Option::Int("device", 0, "CUDA device index").min(0).max(1023),
                 cap::Option::String("precision", "float32",
                                     "compute dtype of matrix products (bfloat16/float16 = autocast)")
                     .choices({"float32", "bfloat16", "float16"}),
                 cap::Option::Bool("allow_tf32", false, "let float32 matrix products use TF32 tensor cores")}};
    }

    static cap::BackendProbe probe(const cap::Host&, const cap::Options& options) {
        cap::BackendProbe p;
        const int64_t device = options.get_int("device");
        p.device = {kDLCUDA, static_cast<int32_t>(device)};
        p.device_count = at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0;
        p.reason = unavailable_reason(device);
        p.available = p.reason.empty();
        return p;
    }

    CudaBackend(const cap::Host& host, const cap::Options& options)
        : device_(options.get_int("device")),
          precision_(options.get_string("precision")),
          allow_tf32_(options.get_bool("allow_tf32")) {
        std::string reason = unavailable_reason(device_);
        if (!reason.empty()) cap::fail("cuda backend unavailable: " + reason, CAP_ERROR_UNAVAILABLE);
        at::globalContext().setAllowTF32CuBLAS(allow_tf32_);
#if CAP_WITH_CUDA
        // Tensors created with a bare `cuda` device and kernels LibTorch launches go to this one.
        c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_));
#endif
        host.info("using CUDA device " + std::to_string(device_));
    }

    cap_exec_context context() override {
        cap_exec_context c{};
        c.struct_size = sizeof(c);
        c.device = {kDLCUDA, static_cast<int32_t>(device_)};
#if CAP_WITH_CUDA
        c.stream = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).stream();
#else
        c.stream = nullptr;  // LibTorch's current stream on that device
#endif
        c.num_threads = 0;
        return c;
    }

    cap_precision_policy precision() override {
        cap_precision_policy p{};
        p.struct_size = sizeof(p);
        p.param_dtype = {kDLFloat, 32, 1};
        if (precision_ == "bfloat16")
            p.compute_dtype = {kDLBfloat, 16, 1};
        else if (precision_ == "float16")
            p.compute_dtype = {kDLFloat, 16, 1};
        else
            p.compute_dtype = {kDLFloat, 32, 1};
        p.allow_tf32 = allow_tf32_ ? 1 : 0;
        return p;
    }

    void synchronize(const cap_exec_context& ctx) override {
        if (ctx.device.device_type != kDLCUDA) cap::fail("cuda backend asked to synchronize a non-CUDA device");
#if CAP_WITH_CUDA
        const auto index = static_cast<c10::DeviceIndex>(ctx.device.device_id);
        c10::cuda::CUDAGuard guard(index);
        c10::cuda::getCurrentCUDAStream(index).synchronize();
#else
        at::detail::getCUDAHooks().deviceSynchronize(ctx.device.device_id);
#endif
    }

    cap_memory_info memory() override {
        cap_memory_info m{};
        m.struct_size = sizeof(m);
#if CAP_WITH_CUDA
        // used: what LibTorch's tensors occupy now (the caching allocator's "allocated", the
        // figure torch.cuda.memory_allocated() reports); total and free: the device's, as the
        // driver sees them (free excludes what the allocator caches).
        const auto index = static_cast<c10::DeviceIndex>(device_);
        c10::cuda::CUDAGuard guard(index);
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
        m.used = static_cast<uint64_t>(stats.allocated_bytes[0].current);  // [0]: all pools together
        size_t free_bytes = 0, total_bytes = 0;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
            m.free = free_bytes;
            m.total = total_bytes;
        }
#endif
        // A CPU-only LibTorch has no allocator statistics: the figures stay unknown (0).
        return m;
    }

    std::string describe() override {
        std::ostringstream s;
        s << "CUDA device " << device_ << " of " << at::detail::getCUDAHooks().getNumGPUs() << ", precision "
          << precision_ << (allow_tf32_ ? ", TF32 allowed" : "");
        return s.str();
    }

private:
    int64_t device_;
    std::string precision_;
    bool allow_tf32_;
};

}  // namespace

CAP_PLUGIN(CudaBackend)
