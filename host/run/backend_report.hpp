// What the run's backend is and how fast it multiplies matrices: logged at start and kept in
// the manifest, so a slow BLAS or a wrong device shows up before hours of training.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plugin/backend_plugin.hpp"
#include "run/precision.hpp"
#include "system/blas_probe.hpp"

namespace cap::run {

struct BackendReport {
    std::string plugin;
    std::string choice;  // how the recipe's backend = "..." was resolved
    cap_exec_context context{};
    cap_precision_policy precision{};
    RunPrecision run_precision;  // what the host applies (checked against the device)
    cap_memory_info memory{};
    std::string description;
    sys::BlasInfo blas;
    double matmul_gflops = 0;  // float32 1024x1024x1024 products on the backend's device

    nlohmann::ordered_json to_json() const;
};

BackendReport report_backend(const host::BackendPlugin& backend, const std::string& choice);

// Times float32 n x n x n products on `device`; returns GFLOP/s.
double measure_matmul_gflops(const cap_exec_context& ctx, const host::BackendPlugin& backend, int n = 1024);

}  // namespace cap::run
