#include "plugin/criterion_plugin.hpp"

#include <cstddef>

namespace cap::host {

namespace {
uint32_t count_of(const CriterionPlugin::Groups& groups) { return static_cast<uint32_t>(groups.size()); }
}  // namespace

CriterionPlugin::CriterionPlugin(std::unique_ptr<PluginInstance> instance)
    : instance_(std::move(instance)) {
    api();
}

void CriterionPlugin::require(bool present, const char* what) const {
    if (!present)
        throw PluginError(instance_->label() + " does not implement " + what, CAP_ERROR_UNSUPPORTED);
}

cap_criterion_info CriterionPlugin::info() const {
    auto out = blank_struct<cap_criterion_info>();
    instance_->call("info", [&] { return api().info(instance_->handle(), &out); });
    return out;
}

void CriterionPlugin::reset() const {
    instance_->call("reset", [&] { return api().reset(instance_->handle()); });
}

void CriterionPlugin::accumulate(const cap_exec_context& ctx, const Groups& groups) const {
    instance_->call("accumulate", [&] {
        return api().accumulate(instance_->handle(), &ctx, groups.data(), count_of(groups));
    });
}

void CriterionPlugin::importance(const cap_exec_context& ctx, const Groups& groups,
                                 const Outputs& out) const {
    instance_->call("importance", [&] {
        return api().importance(instance_->handle(), &ctx, groups.data(), count_of(groups), out.data());
    });
}

void CriterionPlugin::select(const cap_exec_context& ctx, const cap_selection& selection,
                             const Groups& groups, const Outputs& new_masks) const {
    instance_->call("select", [&] {
        return api().select(instance_->handle(), &ctx, &selection, groups.data(), count_of(groups),
                            new_masks.data());
    });
}

bool CriterionPlugin::has_init_scores() const {
    return instance_->has_entry(offsetof(cap_criterion_api, init_scores));
}
bool CriterionPlugin::has_binarize() const {
    return instance_->has_entry(offsetof(cap_criterion_api, binarize));
}
bool CriterionPlugin::has_binarize_backward() const {
    return instance_->has_entry(offsetof(cap_criterion_api, binarize_backward));
}
bool CriterionPlugin::has_regularizer() const {
    return instance_->has_entry(offsetof(cap_criterion_api, regularizer));
}

void CriterionPlugin::init_scores(const cap_exec_context& ctx, const Groups& groups,
                                  const Outputs& out) const {
    require(has_init_scores(), "init_scores");
    instance_->call("init_scores", [&] {
        return api().init_scores(instance_->handle(), &ctx, groups.data(), count_of(groups), out.data());
    });
}

void CriterionPlugin::binarize(const cap_exec_context& ctx, const Groups& groups, double threshold,
                               const Outputs& masks) const {
    require(has_binarize(), "binarize");
    instance_->call("binarize", [&] {
        return api().binarize(instance_->handle(), &ctx, groups.data(), count_of(groups), threshold,
                              masks.data());
    });
}

void CriterionPlugin::binarize_backward(const cap_exec_context& ctx, const Groups& groups,
                                        double threshold,
                                        const std::vector<const DLTensor*>& grad_masks,
                                        const Outputs& grad_scores) const {
    require(has_binarize_backward(), "binarize_backward");
    instance_->call("binarize_backward", [&] {
        return api().binarize_backward(instance_->handle(), &ctx, groups.data(), count_of(groups),
                                       threshold, grad_masks.data(), grad_scores.data());
    });
}

double CriterionPlugin::regularizer(const cap_exec_context& ctx, const Groups& groups,
                                    double threshold, const Outputs& grad_scores) const {
    require(has_regularizer(), "regularizer");
    double value = 0;
    instance_->call("regularizer", [&] {
        return api().regularizer(instance_->handle(), &ctx, groups.data(), count_of(groups),
                                 threshold, &value, grad_scores.data());
    });
    return value;
}

}  // namespace cap::host
