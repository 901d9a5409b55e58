// backends/cpu: LibTorch on the host's processors.
//
// Creating it sets LibTorch's intra-op threads (default: the CPUs the process was given, see
// usable_cpus.hpp) and OpenBLAS's own thread pool to the same count, so `threads = 1` really
// means one core. Which BLAS the process uses
// is the host's to report (it warns at start-up about Debian's ~40x slower reference BLAS): a
// plugin builds against the SDK only.
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "cap/plugin_torch.hpp"
#include "usable_cpus.hpp"

namespace {

uint64_t meminfo_kib(const char* key) {
    std::ifstream in("/proc/meminfo");
    std::string name;
    uint64_t value = 0;
    std::string unit;
    while (in >> name >> value >> unit)
        if (name == key) return value;
    return 0;
}

uint64_t resident_bytes() {
    std::ifstream in("/proc/self/statm");
    uint64_t pages_total = 0, pages_resident = 0;
    in >> pages_total >> pages_resident;
    return pages_resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// OpenBLAS (pthread build) keeps its own pool, separate from LibTorch's OpenMP threads.
void set_openblas_threads(int n) {
    using SetFn = void (*)(int);
    if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
}

class CpuBackend : public cap::Backend {
public:
    static cap::Metadata metadata() {
        return {"cpu",
                "1.0.0",
                "LibTorch on the CPU; threads default to the CPUs the process was given",
                {cap::Option::Int("threads", 0,
                                  "intra-op threads; 0 = the CPUs this process may use (its affinity mask, "
                                  "capped by SLURM_CPUS_PER_TASK)")
                     .min(0)
                     .max(1024),
                 cap::Option::String("precision", "float32", "compute dtype of matrix products (bfloat16 = autocast)")
                     .choices({"float32", "bfloat16"})}};
    }

    static cap::BackendProbe probe(const cap::Host&, const cap::Options&) {
        cap::BackendProbe p;
        p.available = true;
        p.device = {kDLCPU, 0};
        p.device_count = 1;
        return p;
    }

    CpuBackend(const cap::Host&, const cap::Options& options)
        : precision_(options.get_string("precision")), cpus_(cap::backends::usable_cpus()) {
        int64_t threads = options.get_int("threads");
        if (threads == 0) threads = cpus_.count;
        at::set_num_threads(static_cast<int>(threads));
        set_openblas_threads(static_cast<int>(threads));
    }

    cap_exec_context context() override {
        cap_exec_context c{};
        c.struct_size = sizeof(c);
        c.device = {kDLCPU, 0};
        c.stream = nullptr;
        c.num_threads = at::get_num_threads();
        return c;
    }

    cap_precision_policy precision() override {
        cap_precision_policy p{};
        p.struct_size = sizeof(p);
        p.param_dtype = {kDLFloat, 32, 1};
        p.compute_dtype = precision_ == "bfloat16" ? DLDataType{kDLBfloat, 16, 1} : DLDataType{kDLFloat, 32, 1};
        p.allow_tf32 = 0;
        return p;
    }

    void synchronize(const cap_exec_context& ctx) override {
        if (ctx.device.device_type != kDLCPU) cap::fail("cpu backend asked to synchronize a non-CPU device");
        // CPU kernels are synchronous: nothing is queued.
    }

    cap_memory_info memory() override {
        cap_memory_info m{};
        m.struct_size = sizeof(m);
        m.used = resident_bytes();
        m.total = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
        m.free = meminfo_kib("MemAvailable:") * 1024;
        return m;
    }

    std::string describe() override {
        std::ostringstream s;
        s << "CPU, " << at::get_num_threads() << " intra-op threads; " << cpus_.count << " CPUs usable ("
          << cpus_.reason << ") of " << std::thread::hardware_concurrency() << " cores, precision " << precision_;
        return s.str();
    }

private:
    std::string precision_;
    cap::backends::UsableCpus cpus_;
};

}  // namespace

CAP_PLUGIN(CpuBackend)
