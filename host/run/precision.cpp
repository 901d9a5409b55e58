#include "run/precision.hpp"

#include <stdexcept>

#include "model/autocast.hpp"

namespace cap::run {

std::string dl_dtype_name(DLDataType t) {
    if (t.code == kDLFloat && t.bits == 32) return "float32";
    if (t.code == kDLFloat && t.bits == 16) return "float16";
    if (t.code == kDLBfloat && t.bits == 16) return "bfloat16";
    return "code " + std::to_string(t.code) + ", " + std::to_string(t.bits) + " bits";
}

RunPrecision RunPrecision::from_policy(const cap_precision_policy& policy, const c10::Device& device,
                                       const std::string& backend) {
    const std::string param = dl_dtype_name(policy.param_dtype);
    if (param != "float32")
        throw std::runtime_error("backend " + backend + " asks for " + param +
                                 " parameters; cap keeps master weights in float32 (use its compute dtype for "
                                 "mixed precision)");
    RunPrecision p;
    const std::string compute = dl_dtype_name(policy.compute_dtype);
    if (compute == "bfloat16")
        p.compute = c10::ScalarType::BFloat16;
    else if (compute == "float16")
        p.compute = c10::ScalarType::Half;
    else if (compute != "float32")
        throw std::runtime_error("backend " + backend + " asks for compute dtype " + compute +
                                 "; cap runs float32, bfloat16 or float16");
    const std::string why = model::autocast_unsupported(device.type(), p.compute);
    if (!why.empty()) throw std::runtime_error("backend " + backend + ": precision " + compute + ": " + why);
    p.loss_scaling = p.compute == c10::ScalarType::Half;
    p.allow_tf32 = policy.allow_tf32 != 0;
    return p;
}

nlohmann::ordered_json RunPrecision::to_json() const {
    const bool mixed = compute != c10::ScalarType::Float;
    const char* compute_name = compute == c10::ScalarType::BFloat16 ? "bfloat16"
                               : compute == c10::ScalarType::Half   ? "float16"
                                                                    : "float32";
    return {{"forward", mixed ? std::string("autocast to ") + compute_name : std::string("float32")},
            {"matmul_dtype", compute_name},
            {"loss_scaling",
             loss_scaling ? "dynamic (GradScaler's rule: 2^16, x0.5 on inf/NaN, x2 per 2000 clean steps)" : "none"},
            {"allow_tf32", allow_tf32},
            {"master_weights", "float32"},
            {"optimizer_state", "float32"},
            {"losses", "float32"},
            {"masks", "float32"},
            {"scores", "float32"},
            {"contrastive_banks", "float32"},
            {"teacher_outputs", "float32"}};
}

}  // namespace cap::run
