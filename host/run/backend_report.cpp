#include "run/backend_report.hpp"

#include <chrono>

#include "cap/plugin_torch.hpp"

namespace cap::run {

double measure_matmul_gflops(const cap_exec_context& ctx, const host::BackendPlugin& backend, int n) {
    auto options = at::TensorOptions().dtype(at::kFloat).device(cap::to_device(ctx.device));
    at::Tensor a = at::rand({n, n}, options), b = at::rand({n, n}, options);
    at::Tensor c = at::mm(a, b);  // warm-up: thread pools, allocator
    backend.synchronize(ctx);
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    int reps = 0;
    double elapsed = 0;
    while (reps < 20 && elapsed < 0.25) {
        c = at::mm(a, b);
        backend.synchronize(ctx);
        ++reps;
        elapsed = std::chrono::duration<double>(clock::now() - start).count();
    }
    return 2.0 * n * n * double(n) * reps / elapsed / 1e9;
}

BackendReport report_backend(const host::BackendPlugin& backend, const std::string& choice) {
    BackendReport r;
    r.plugin = backend.instance().label();
    r.choice = choice;
    r.context = backend.context();
    r.precision = backend.precision();
    r.run_precision = RunPrecision::from_policy(r.precision, cap::to_device(r.context.device), r.plugin);
    r.description = backend.describe();
    r.blas = sys::probe_blas();
    r.matmul_gflops = measure_matmul_gflops(r.context, backend);
    r.memory = backend.memory();
    return r;
}

nlohmann::ordered_json BackendReport::to_json() const {
    nlohmann::ordered_json j;
    j["plugin"] = plugin;
    j["choice"] = choice;
    j["device"] = context.device.device_type == kDLCUDA ? "cuda:" + std::to_string(context.device.device_id) : "cpu";
    j["threads"] = context.num_threads;
    j["param_dtype"] = dl_dtype_name(precision.param_dtype);
    j["compute_dtype"] = dl_dtype_name(precision.compute_dtype);
    j["allow_tf32"] = precision.allow_tf32 != 0;
    j["precision"] = run_precision.to_json();
    j["description"] = description;
    j["blas"] = {{"vendor", blas.vendor}, {"path", blas.path}, {"detail", blas.detail}};
    j["matmul_gflops_1024"] = matmul_gflops;
    j["memory_bytes"] = {{"used", memory.used}, {"total", memory.total}, {"free", memory.free}};
    return j;
}

}  // namespace cap::run
