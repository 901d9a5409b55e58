#include "model/dropout.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

namespace cap::model {

namespace {

inline uint64_t splitmix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t next_seed() {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace

at::Tensor dropout(const at::Tensor& input, double p, bool training) {
    if (!training || p <= 0) return input;
    if (p >= 1) return input * 0;
    if (!input.device().is_cpu() || input.scalar_type() != at::kFloat) return at::dropout(input, p, training);
    const uint64_t seed = next_seed();
    // keep when the top 32 bits of the hash are >= p * 2^32
    const auto threshold = static_cast<uint64_t>(p * 4294967296.0);
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    at::Tensor mask = at::empty(input.sizes(), input.options().requires_grad(false));
    float* m = mask.data_ptr<float>();
    at::parallel_for(0, mask.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i)
            m[i] =
                (splitmix64(seed ^ static_cast<uint64_t>(i) * 0xd1b54a32d192ed03ull) >> 32) >= threshold ? scale : 0.0f;
    });
    return input * mask;
}

}  // namespace cap::model
