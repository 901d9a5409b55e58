// Typed calls into a criterion plugin (cap/criterion.h). Groups and tensors are the caller's.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plugin/instance.hpp"

namespace cap::host {

// Why the host cannot give a criterion what its info() asks for (needs that its granularity and
// style cannot get), with what to change; nullopt when it can. validate, check-plugin and the
// run all ask, so a recipe is refused before any training.
std::optional<std::string> needs_problem(const cap_criterion_info& info);

class CriterionPlugin {
public:
    using Groups = std::vector<const cap_unit_group*>;
    using Outputs = std::vector<DLTensor*>;

    // Checks that the plugin has every entry of the style its info() declares.
    explicit CriterionPlugin(std::unique_ptr<PluginInstance> instance);
    const PluginInstance& instance() const { return *instance_; }

    const cap_criterion_info& info() const { return info_; }
    bool score_based() const { return info_.score_based != 0; }

    void reset() const;
    void accumulate(const cap_exec_context& ctx, const cap_batch_info& batch, const Groups& groups) const;
    void importance(const cap_exec_context& ctx, const Groups& groups, const Outputs& out) const;
    void select(const cap_exec_context& ctx, const cap_selection& selection, const Groups& groups,
                const Outputs& new_masks) const;

    bool has_init_scores() const;
    bool has_binarize() const;
    bool has_binarize_backward() const;
    bool has_regularizer() const;
    void init_scores(const cap_exec_context& ctx, const Groups& groups, const Outputs& out) const;
    void binarize(const cap_exec_context& ctx, const cap_schedule_point& point, const cap_progress& progress,
                  const Groups& groups, const Outputs& masks) const;
    void binarize_backward(const cap_exec_context& ctx, const cap_schedule_point& point, const cap_progress& progress,
                           const Groups& groups, const std::vector<const DLTensor*>& grad_masks,
                           const Outputs& grad_scores) const;
    double regularizer(const cap_exec_context& ctx, const cap_schedule_point& point, const cap_progress& progress,
                       const Groups& groups, const Outputs& grad_scores) const;

private:
    const cap_criterion_api& api() const { return instance_->table<cap_criterion_api>(CAP_KIND_CRITERION); }
    bool has(size_t offset) const { return instance_->has_entry(offset); }
    void require(bool present, const char* what) const;
    void require_outputs(const Groups& groups, size_t outputs, const char* what) const;
    std::unique_ptr<PluginInstance> instance_;
    cap_criterion_info info_{};
};

}  // namespace cap::host
