#include "system/blas_probe.hpp"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>

namespace cap::sys {

std::string BlasInfo::summary() const {
    if (path.empty()) return vendor;
    std::string s = vendor + " (" + path + ")";
    if (!detail.empty()) s += ": " + detail;
    return s;
}

BlasInfo classify_blas_path(const std::string& resolved_path) {
    BlasInfo info;
    info.path = resolved_path;
    auto has = [&](const char* needle) { return resolved_path.find(needle) != std::string::npos; };
    if (resolved_path.empty())
        info.vendor = "unknown";
    else if (has("openblas"))
        info.vendor = "OpenBLAS";
    else if (has("blis"))
        info.vendor = "BLIS";
    else if (has("mkl"))
        info.vendor = "MKL";
    else if (has("libtorch_cpu")) {
#if defined(__x86_64__)
        info.vendor = "MKL";  // PyPI's x86-64 torch wheels link MKL statically into libtorch_cpu.so
#else
        info.vendor = "bundled";  // other platforms' wheels bundle other BLAS libraries
#endif
        info.detail = "linked into LibTorch";
    } else if (has("atlas"))
        info.vendor = "ATLAS";
    else if (has("/blas/libblas.so") || has("/libblas.so") || has("netlib"))
        // Debian installs the reference implementation as .../blas/libblas.so.3.
        info.vendor = "reference";
    else
        info.vendor = "unknown";
    return info;
}

BlasInfo probe_blas() {
    void* symbol = dlsym(RTLD_DEFAULT, "sgemm_");
    if (!symbol) return classify_blas_path("");
    Dl_info where{};
    if (!dladdr(symbol, &where) || !where.dli_fname) return classify_blas_path("");
    char resolved[PATH_MAX];
    std::string path = realpath(where.dli_fname, resolved) ? resolved : where.dli_fname;
    BlasInfo info = classify_blas_path(path);
    if (info.vendor == "OpenBLAS") {
        using ConfigFn = const char* (*)();
        if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) info.detail = fn();
    }
    return info;
}

std::string blas_warning(const BlasInfo& info) {
    if (!info.is_reference()) return "";
    return "LibTorch is using the reference BLAS (" + info.path +
           "): matrix products run about 40x slower than with OpenBLAS. "
           "Install it with: apt-get install libopenblas0-pthread";
}

}  // namespace cap::sys
