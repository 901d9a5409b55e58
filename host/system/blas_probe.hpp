// Which BLAS library LibTorch's matrix products go through in this process.
//
// Debian's LibTorch links libblas.so.3, which the alternatives system points at either the
// reference (Netlib) BLAS or OpenBLAS; the reference one is ~40x slower, so cap warns about it.
#pragma once

#include <string>

namespace cap::sys {

struct BlasInfo {
    std::string path;    // the library that provides sgemm_, symlinks resolved; empty if none
    std::string vendor;  // "OpenBLAS", "BLIS", "MKL", "ATLAS", "reference", or "unknown"
    std::string detail;  // vendor-specific build line (e.g. OpenBLAS's config), may be empty

    bool is_reference() const { return vendor == "reference"; }
    std::string summary() const;  // one line for logs
};

// Classifies a resolved library path; pure, so it can be tested without swapping libraries.
BlasInfo classify_blas_path(const std::string& resolved_path);

// Looks up sgemm_ among the loaded libraries and classifies the one that provides it.
BlasInfo probe_blas();

// The start-up warning for a reference BLAS, or an empty string when there is nothing to say.
std::string blas_warning(const BlasInfo& info);

}  // namespace cap::sys
