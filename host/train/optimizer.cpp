#include "train/optimizer.hpp"

#include <algorithm>

namespace cap::train {

double LinearSchedule::factor(int64_t step) const {
    if (step < warmup_) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_));
    return std::max(0.0, static_cast<double>(total_ - step) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_)));
}

std::unique_ptr<torch::optim::AdamW> make_adamw(model::Bert& model, const OptimizerSettings& s) {
    std::vector<at::Tensor> decay, no_decay;
    for (auto& p : model->named_parameters()) {
        if (!p.value().requires_grad()) continue;
        const std::string& name = p.key();
        const bool exempt = name.find("bias") != std::string::npos || name.find("LayerNorm.weight") != std::string::npos;
        (exempt ? no_decay : decay).push_back(p.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    auto options = [&](double wd) {
        return std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(s.learning_rate).weight_decay(wd).eps(s.adam_epsilon).betas({0.9, 0.999}));
    };
    groups.emplace_back(decay, options(s.weight_decay));
    groups.emplace_back(no_decay, options(0.0));
    return std::make_unique<torch::optim::AdamW>(
        std::move(groups), torch::optim::AdamWOptions(s.learning_rate).eps(s.adam_epsilon).weight_decay(s.weight_decay));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

}  // namespace cap::train
