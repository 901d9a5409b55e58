// backends/cpu and backends/cuda through the ABI, and BLAS detection.
#include <doctest/doctest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <thread>

#include "plugin/backend_plugin.hpp"
#include "plugin/registry.hpp"
#include "support/process.hpp"
#include "support/registries.hpp"
#include "system/blas_probe.hpp"
#include "test_paths.hpp"

using namespace cap::host;

namespace {
std::shared_ptr<const PluginLibrary> backend(const char* name) {
    auto lib = cap::test::builtin_registry().find(CAP_KIND_BACKEND, name);
    REQUIRE(lib);
    return lib;
}
}  // namespace

TEST_CASE("backends: cpu sets LibTorch's threads and reports device, memory and threads") {
    auto lib = backend("cpu");
    auto probe = probe_backend(*lib, {{"threads", int64_t{0}}, {"precision", std::string("float32")}});
    CHECK(probe.available == 1);
    CHECK(probe.device.device_type == kDLCPU);

    const int before = at::get_num_threads();
    {
        BackendPlugin cpu(std::make_unique<PluginInstance>(
            lib, OptionValues{{"threads", int64_t{1}}, {"precision", std::string("bfloat16")}}));
        CHECK(at::get_num_threads() == 1);
        auto ctx = cpu.context();
        CHECK(ctx.device.device_type == kDLCPU);
        CHECK(ctx.num_threads == 1);
        CHECK(cpu.precision().compute_dtype.code == kDLBfloat);
        auto mem = cpu.memory();
        CHECK(mem.used > 0);
        CHECK(mem.total >= mem.used);
        CHECK(cpu.describe().find("intra-op threads") != std::string::npos);
        CHECK_NOTHROW(cpu.synchronize(ctx));
    }
    BackendPlugin all(std::make_unique<PluginInstance>(
        lib, OptionValues{{"threads", int64_t{0}}, {"precision", std::string("float32")}}));
    CHECK(at::get_num_threads() == static_cast<int>(std::thread::hardware_concurrency()));
    at::set_num_threads(before);
}

TEST_CASE("backends: cuda explains why it is unavailable and refuses to be created") {
    auto lib = backend("cuda");
    const OptionValues options{{"device", int64_t{0}}, {"precision", std::string("float32")}, {"allow_tf32", false}};
    auto probe = probe_backend(*lib, options);
    if (probe.available) {
        MESSAGE("SKIP: this LibTorch has a usable GPU; the unavailable path is not reachable here");
        return;
    }
    CHECK(std::string(probe.reason).find("CUDA") != std::string::npos);
    CHECK_THROWS_WITH_AS(BackendPlugin(std::make_unique<PluginInstance>(lib, options)),
                         doctest::Contains("cuda backend unavailable"), PluginError);
}

TEST_CASE("backends: cuda on a GPU runs on its device and reports the caching allocator's memory") {
    auto lib = backend("cuda");
    const OptionValues options{{"device", int64_t{0}}, {"precision", std::string("bfloat16")}, {"allow_tf32", true}};
    auto probe = probe_backend(*lib, options);
    if (!probe.available) {
        MESSAGE("SKIP: no usable GPU here (" << probe.reason << ")");
        return;
    }
    BackendPlugin cuda(std::make_unique<PluginInstance>(lib, options));
    const auto ctx = cuda.context();
    CHECK(ctx.device.device_type == kDLCUDA);
    CHECK(ctx.device.device_id == 0);
    const auto policy = cuda.precision();
    CHECK(policy.compute_dtype.code == kDLBfloat);
    CHECK(policy.allow_tf32 == 1);
    const auto before = cuda.memory();
    at::Tensor held = at::ones({64, 1024, 1024}, at::TensorOptions().device(at::kCUDA));  // 256 MiB
    CHECK_NOTHROW(cuda.synchronize(ctx));
    const auto after = cuda.memory();
    CHECK(after.total > 0);
    CHECK(after.free < after.total);
    CHECK(after.used >= before.used + held.numel() * 4);  // the allocator's "allocated" bytes
}

TEST_CASE("backends: BLAS libraries are classified by the file that provides sgemm_") {
    using cap::sys::classify_blas_path;
    CHECK(classify_blas_path("/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3").vendor == "OpenBLAS");
    CHECK(classify_blas_path("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3").is_reference());
    CHECK(classify_blas_path("/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3").vendor == "BLIS");
    CHECK(classify_blas_path("/opt/intel/mkl/lib/libmkl_rt.so").vendor == "MKL");
#if defined(__x86_64__)
    CHECK(classify_blas_path("/venv/lib/python3.12/site-packages/torch/lib/libtorch_cpu.so").vendor == "MKL");
#endif
    CHECK(classify_blas_path("").vendor == "unknown");
    CHECK(cap::sys::blas_warning(classify_blas_path("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"))
              .find("libopenblas0-pthread") != std::string::npos);
    CHECK(cap::sys::blas_warning(classify_blas_path("/x/openblas-pthread/libblas.so.3")).empty());
    // This test process links LibTorch, so its BLAS is the one the install step chose (Debian's
    // LibTorch) or the MKL inside PyPI's wheel.
    const std::string vendor = cap::sys::probe_blas().vendor;
    CHECK((vendor == "OpenBLAS" || vendor == "MKL"));
    CHECK_FALSE(cap::sys::probe_blas().is_reference());
}

TEST_CASE("backends: cpu threads default to the CPUs the process was given, not the node's cores") {
    const std::filesystem::path dir = cap::test::scratch_dir("cpu_threads_given");
    const auto recipe = cap::test::write_text(dir / "threads.toml", cap::test::tiny_recipe("threads")).string();
    const std::string cap_run = std::string(cap::test::kCapExe) + " run " + recipe + " --out ";
    auto pinned = cap::test::run_command("taskset -c 0 " + cap_run + (dir / "pinned").string());
    INFO(pinned.output);
    CHECK(pinned.exit_code == 0);
    CHECK(pinned.output.find("CPU, 1 intra-op threads; 1 CPUs usable (affinity mask)") != std::string::npos);
    if (std::thread::hardware_concurrency() < 2) return;  // nothing below one core to cap
    auto slurm = cap::test::run_command("SLURM_CPUS_PER_TASK=1 " + cap_run + (dir / "slurm").string());
    INFO(slurm.output);
    CHECK(slurm.exit_code == 0);
    CHECK(slurm.output.find("CPU, 1 intra-op threads; 1 CPUs usable (SLURM_CPUS_PER_TASK)") != std::string::npos);
}
