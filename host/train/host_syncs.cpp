#include "train/host_syncs.hpp"

#include <ATen/record_function.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace cap::train {

namespace {

std::atomic<int64_t> g_syncs{0};

bool named(const char* name, const char* what) { return name != nullptr && std::strcmp(name, what) == 0; }

// A copy lands in host memory from a device: `_to_copy(self, dtype, layout, device, ...)` with a CPU
// target, or `copy_(self = host tensor, src = device tensor)`. Never true on a CPU-only run.
bool device_to_host_copy(const at::RecordFunction& fn) {
    const auto inputs = fn.inputs();
    if (named(fn.name(), "aten::_to_copy")) {
        if (inputs.size() < 4 || !inputs[0].isTensor() || inputs[0].toTensor().is_cpu()) return false;
        return inputs[3].isDevice() && inputs[3].toDevice().is_cpu();
    }
    if (named(fn.name(), "aten::copy_")) {
        if (inputs.size() < 2 || !inputs[0].isTensor() || !inputs[1].isTensor()) return false;
        return inputs[0].toTensor().is_cpu() && !inputs[1].toTensor().is_cpu();
    }
    return false;
}

std::unique_ptr<at::ObserverContext> on_op(const at::RecordFunction& fn) {
    const char* name = fn.name();
    if (named(name, "aten::_local_scalar_dense") || named(name, "aten::nonzero") ||
        named(name, "aten::masked_select") || named(name, "aten::_unique2") || named(name, "aten::unique_dim") ||
        device_to_host_copy(fn))
        g_syncs.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
}

bool install() {
    const char* env = std::getenv("CAP_COUNT_HOST_SYNCS");
    if (env == nullptr || std::strcmp(env, "1") != 0) return false;
    at::addGlobalCallback(at::RecordFunctionCallback(&on_op).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
    return true;
}

}  // namespace

bool host_sync_counting() {
    static const bool on = install();
    return on;
}

int64_t host_syncs() { return g_syncs.load(std::memory_order_relaxed); }

}  // namespace cap::train
