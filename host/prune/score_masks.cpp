#include "prune/score_masks.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "cap/plugin_torch.hpp"
#include "prune/weight_selection.hpp"

#include <stdexcept>

namespace cap::prune {

ScoreMasks::ScoreMasks(model::Bert& model, const host::CriterionPlugin& criterion, const cap_exec_context& context)
    : model_(model), criterion_(criterion), context_(context), masks_(model) {
    if (auto problem = host::needs_problem(criterion.info()))
        throw std::runtime_error(criterion.instance().label() + ": " + *problem);
    const uint32_t needs = criterion.info().needs;
    has_scores_ = (needs & CAP_NEEDS_SCORES) != 0;
    needs_weights_ = (needs & CAP_NEEDS_WEIGHTS) != 0;
    if (has_scores_) {
        masks_.create_scores(0.0);
        if (criterion.has_init_scores()) {
            auto v = views();
            std::vector<at::Tensor> init;
            std::vector<DLTensor> out_views;
            for (const auto& s : masks_.slots()) init.push_back(at::empty_like(s.mask));
            for (const auto& t : init) out_views.push_back(cap::to_dl(t));
            host::CriterionPlugin::Outputs out;
            for (auto& o : out_views) out.push_back(&o);
            criterion.init_scores(context_, v.pointers, out);
            torch::NoGradGuard no_grad;
            for (size_t i = 0; i < init.size(); ++i) masks_.slots()[i].scores.copy_(init[i]);
        }
    }
    transform_ = masks_.transform();
}

ScoreMasks::GroupViews ScoreMasks::views() const {
    GroupViews v;
    const auto& slots = masks_.slots();
    v.tensors.reserve(slots.size() * 3);
    v.alive.reserve(slots.size() * 2);
    v.groups.resize(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
        const auto& s = slots[i];
        cap_unit_group& g = v.groups[i];
        g.struct_size = sizeof(g);
        g.name = s.name.c_str();
        g.unit_kind = CAP_UNITS_WEIGHTS;
        g.layer = static_cast<int32_t>(s.layer);
        g.linear_role = static_cast<int32_t>(s.which) + 1;  // EncoderLinear follows cap_linear_role's order
        v.tensors.push_back(cap::to_dl(s.mask));
        g.mask = &v.tensors.back();
        if (needs_weights_) {
            v.alive.push_back(model_->linear_weight(s.layer, s.which).detach());
            v.tensors.push_back(cap::to_dl(v.alive.back()));
            g.weight = &v.tensors.back();
        }
        if (s.scores.defined()) {
            v.alive.push_back(s.scores.detach());
            v.tensors.push_back(cap::to_dl(v.alive.back()));
            g.scores = &v.tensors.back();
        }
    }
    for (const auto& g : v.groups) v.pointers.push_back(&g);
    return v;
}

void ScoreMasks::binarize(const cap_schedule_point& point, const cap_progress& progress) {
    auto v = views();
    masks_.binarize([&](const std::vector<at::Tensor>&) {
        std::vector<at::Tensor> out;
        std::vector<DLTensor> out_views;
        for (const auto& s : masks_.slots()) out.push_back(at::empty_like(s.mask));
        for (const auto& t : out) out_views.push_back(cap::to_dl(t));
        host::CriterionPlugin::Outputs pointers;
        for (auto& o : out_views) pointers.push_back(&o);
        criterion_.binarize(context_, point, progress, v.pointers, pointers);
        return out;
    });
}

void ScoreMasks::check(const std::string& when) const {
    const std::string prefix = criterion_.instance().label() + " " + when + ": ";
    for (const auto& s : masks_.slots()) {
        if (auto w = first_weight((s.mask != 0) & (s.mask != 1)); !w.empty())
            throw std::runtime_error(prefix + "binarize returned a mask of " + s.name +
                                     " with values other than 0 and 1 (first: " + w + ")");
        if (!s.scores.defined()) continue;
        if (auto w = first_weight(at::isfinite(s.scores.detach()).logical_not()); !w.empty())
            throw std::runtime_error(prefix + "the scores of " + s.name + " are not finite (first: " + w +
                                     "); they come from its init_scores, binarize_backward or regularizer");
    }
}

double ScoreMasks::regularizer(const cap_schedule_point& point, const cap_progress& progress) {
    regularizer_grads_.clear();
    if (!has_scores_ || !criterion_.has_regularizer()) return 0.0;
    auto v = views();
    std::vector<DLTensor> out_views;
    for (const auto& s : masks_.slots()) regularizer_grads_.push_back(at::zeros_like(s.mask));
    for (const auto& t : regularizer_grads_) out_views.push_back(cap::to_dl(t));
    host::CriterionPlugin::Outputs out;
    for (auto& o : out_views) out.push_back(&o);
    return criterion_.regularizer(context_, point, progress, v.pointers, out);
}

void ScoreMasks::finish_gradients(const cap_schedule_point& point, const cap_progress& progress) {
    if (!has_scores_) return;
    auto& slots = masks_.slots();
    torch::NoGradGuard no_grad;
    if (criterion_.has_binarize_backward()) {
        auto v = views();
        std::vector<at::Tensor> grad_masks, grad_scores;
        std::vector<DLTensor> in_views, out_views;
        for (auto& s : slots) {
            grad_masks.push_back(s.scores.grad().defined() ? s.scores.grad().clone() : at::zeros_like(s.mask));
            grad_scores.push_back(at::zeros_like(s.mask));
        }
        for (const auto& t : grad_masks) in_views.push_back(cap::to_dl(t));
        for (const auto& t : grad_scores) out_views.push_back(cap::to_dl(t));
        std::vector<const DLTensor*> in;
        host::CriterionPlugin::Outputs out;
        for (auto& i : in_views) in.push_back(&i);
        for (auto& o : out_views) out.push_back(&o);
        criterion_.binarize_backward(context_, point, progress, v.pointers, in, out);
        for (size_t i = 0; i < slots.size(); ++i) slots[i].scores.mutable_grad() = grad_scores[i];
    }
    for (size_t i = 0; i < regularizer_grads_.size(); ++i) {
        at::Tensor& g = slots[i].scores.mutable_grad();
        if (g.defined())
            g.add_(regularizer_grads_[i]);
        else
            g = regularizer_grads_[i].clone();
    }
}

}  // namespace cap::prune
