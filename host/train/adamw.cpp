#include "train/adamw.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>

#include "model/safetensors.hpp"

namespace cap::train {

AdamW::AdamW(model::Bert& model, const AdamWSettings& settings) : settings_(settings) {
    for (auto& p : model->named_parameters()) {
        if (!p.value().requires_grad()) continue;
        const std::string& name = p.key();
        const bool exempt =
            name.find("bias") != std::string::npos || name.find("LayerNorm.weight") != std::string::npos;
        params_.push_back({name, p.value(), at::zeros_like(p.value()), at::zeros_like(p.value()), !exempt});
    }
}

void AdamW::add_group(const std::string& prefix, const std::vector<at::Tensor>& tensors, double lr_scale) {
    for (size_t i = 0; i < tensors.size(); ++i)
        params_.push_back({prefix + "." + std::to_string(i), tensors[i], at::zeros_like(tensors[i]),
                           at::zeros_like(tensors[i]), false, lr_scale, true});
}

void AdamW::zero_grad() {
    for (auto& p : params_)
        if (p.value.grad().defined()) p.value.mutable_grad().zero_();
}

namespace {

double grad_norm(const std::vector<AdamW::Param>& params) {
    double sum = 0;
    at::Tensor on_device;  // other devices: summed where the gradients are, read back once per step
    for (const auto& p : params) {
        const at::Tensor& g = p.value.grad();
        if (!g.defined() || g.numel() == 0) continue;
        if (g.is_cpu() && g.scalar_type() == at::kFloat && g.is_contiguous()) {
            const float* d = g.data_ptr<float>();
            sum += at::parallel_reduce(
                0, g.numel(), 1 << 15, 0.0,
                [&](int64_t b, int64_t e, double acc) {
                    for (int64_t i = b; i < e; ++i) acc += double(d[i]) * d[i];
                    return acc;
                },
                std::plus<double>());
        } else {
            at::Tensor squares = g.to(at::kDouble).pow(2).sum();
            on_device = on_device.defined() ? on_device + squares : squares;
        }
    }
    if (on_device.defined()) sum += on_device.item<double>();
    return std::sqrt(sum);
}

}  // namespace

double AdamW::step(double max_grad_norm) {
    const double norm = grad_norm(params_);
    const double coef = max_grad_norm > 0 && max_grad_norm / (norm + 1e-6) < 1 ? max_grad_norm / (norm + 1e-6) : 1.0;
    ++step_;
    const auto& s = settings_;
    const double bc1 = 1 - std::pow(s.beta1, step_), bc2 = 1 - std::pow(s.beta2, step_);
    const float sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
    const float b1 = static_cast<float>(s.beta1), b2 = static_cast<float>(s.beta2);
    const float eps = static_cast<float>(s.adam_epsilon), scale = static_cast<float>(coef);
    at::NoGradGuard no_grad;
    for (auto& p : params_) {
        at::Tensor g = p.value.grad();
        if (!g.defined()) continue;
        const float step_size = static_cast<float>(s.learning_rate * p.lr_scale / bc1);
        const float decay = p.decay ? static_cast<float>(1 - s.learning_rate * s.weight_decay) : 1.0f;
        if (p.value.is_cpu() && p.value.scalar_type() == at::kFloat && p.value.is_contiguous() && g.is_contiguous()) {
            float* w = p.value.data_ptr<float>();
            const float* gd = g.data_ptr<float>();
            float* m = p.exp_avg.data_ptr<float>();
            float* v = p.exp_avg_sq.data_ptr<float>();
            at::parallel_for(0, p.value.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
                for (int64_t i = begin; i < end; ++i) {
                    const float gi = gd[i] * scale;
                    const float mi = m[i] * b1 + (1 - b1) * gi;
                    const float vi = v[i] * b2 + (1 - b2) * gi * gi;
                    m[i] = mi;
                    v[i] = vi;
                    w[i] = w[i] * decay - step_size * mi / (std::sqrt(vi) / sqrt_bc2 + eps);
                }
            });
        } else {  // other devices and layouts: the same update in tensor operations
            at::Tensor gs = g * coef;
            p.value.mul_(decay);
            p.exp_avg.mul_(s.beta1).add_(gs, 1 - s.beta1);
            p.exp_avg_sq.mul_(s.beta2).addcmul_(gs, gs, 1 - s.beta2);
            p.value.addcdiv_(p.exp_avg, p.exp_avg_sq.sqrt() / sqrt_bc2 + eps, -step_size);
        }
    }
    return norm;
}

void AdamW::save(const std::filesystem::path& file) const {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& p : params_) {
        tensors.emplace_back(p.name + ".exp_avg", p.exp_avg);
        tensors.emplace_back(p.name + ".exp_avg_sq", p.exp_avg_sq);
        if (p.external) tensors.emplace_back(p.name + ".value", p.value.detach());
    }
    model::write_safetensors(file, tensors, {{"adamw_step", std::to_string(step_)}});
}

void AdamW::load(const std::filesystem::path& file) {
    auto f = model::read_safetensors(file);
    std::map<std::string, at::Tensor> by_name(f.tensors.begin(), f.tensors.end());
    auto entry = [&](const Param& p, const char* what) -> const at::Tensor& {
        auto it = by_name.find(p.name + what);
        if (it == by_name.end() || !it->second.sizes().equals(p.value.sizes()))
            throw std::runtime_error(file.string() + ": no optimizer state " + p.name + what + " of the right shape");
        return it->second;
    };
    auto step = f.metadata.find("adamw_step");
    if (step == f.metadata.end()) throw std::runtime_error(file.string() + ": no adamw_step in its metadata");
    for (const auto& p : params_) {  // everything checked before anything changes
        entry(p, ".exp_avg");
        entry(p, ".exp_avg_sq");
        if (p.external) entry(p, ".value");
    }
    at::NoGradGuard no_grad;
    for (auto& p : params_) {
        p.exp_avg.copy_(entry(p, ".exp_avg"));
        p.exp_avg_sq.copy_(entry(p, ".exp_avg_sq"));
        if (p.external) p.value.copy_(entry(p, ".value"));
    }
    step_ = std::stoll(step->second);
}

}  // namespace cap::train
