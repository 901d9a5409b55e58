// Typed calls into a criterion plugin (cap/criterion.h). Groups and tensors are the caller's.
#pragma once

#include <memory>
#include <vector>

#include "plugin/instance.hpp"

namespace cap::host {

class CriterionPlugin {
public:
    using Groups = std::vector<const cap_unit_group*>;
    using Outputs = std::vector<DLTensor*>;

    explicit CriterionPlugin(std::unique_ptr<PluginInstance> instance);
    const PluginInstance& instance() const { return *instance_; }

    cap_criterion_info info() const;
    void reset() const;
    void accumulate(const cap_exec_context& ctx, const Groups& groups) const;
    void importance(const cap_exec_context& ctx, const Groups& groups, const Outputs& out) const;
    void select(const cap_exec_context& ctx, const cap_selection& selection, const Groups& groups,
                const Outputs& new_masks) const;

    bool has_init_scores() const;
    bool has_binarize() const;
    bool has_binarize_backward() const;
    bool has_regularizer() const;
    void init_scores(const cap_exec_context& ctx, const Groups& groups, const Outputs& out) const;
    void binarize(const cap_exec_context& ctx, const Groups& groups, double threshold,
                  const Outputs& masks) const;
    void binarize_backward(const cap_exec_context& ctx, const Groups& groups, double threshold,
                           const std::vector<const DLTensor*>& grad_masks,
                           const Outputs& grad_scores) const;
    double regularizer(const cap_exec_context& ctx, const Groups& groups, double threshold,
                       const Outputs& grad_scores) const;

private:
    const cap_criterion_api& api() const { return instance_->table<cap_criterion_api>(CAP_KIND_CRITERION); }
    void require(bool present, const char* what) const;
    std::unique_ptr<PluginInstance> instance_;
};

}  // namespace cap::host
