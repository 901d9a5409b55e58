// How a run computes: the backend's precision policy turned into what the host applies. The
// model's forward passes run under autocast to `compute` (bfloat16, or float16 on CUDA with
// dynamic loss scaling); master weights, AdamW's moments, masks, scores and the contrastive
// banks stay float32. The manifest states each of these.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <nlohmann/json.hpp>

#include "cap/backend.h"
#include "model/bert.hpp"

namespace cap::run {

// "float32", "bfloat16", "float16", or the code and bits of another DLPack dtype.
std::string dl_dtype_name(DLDataType t);

struct RunPrecision {
    c10::ScalarType compute = c10::ScalarType::Float;  // autocast dtype; float32: no autocast
    bool loss_scaling = false;                         // float16 only
    bool allow_tf32 = false;                           // applied by the backend

    // Throws, naming the backend, when the policy cannot run on `device` (e.g. float16 on the CPU)
    // or asks for parameters other than float32.
    static RunPrecision from_policy(const cap_precision_policy& policy, const c10::Device& device,
                                    const std::string& backend);
    void apply(model::Bert& model) const { model->set_compute_dtype(compute); }
    nlohmann::ordered_json to_json() const;  // the manifest's "precision"
};

}  // namespace cap::run
