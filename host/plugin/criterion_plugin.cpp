#include "plugin/criterion_plugin.hpp"

#include <cstddef>
#include <cstdio>

namespace cap::host {

namespace {
uint32_t count_of(const CriterionPlugin::Groups& groups) { return static_cast<uint32_t>(groups.size()); }
}  // namespace

std::optional<std::string> needs_problem(const cap_criterion_info& info) {
    const uint32_t needs = info.needs;
    if (info.granularity == CAP_GRANULARITY_STRUCTURED && (needs & CAP_NEEDS_SCORES))
        return std::string(
            "a structured criterion cannot ask for learnable scores (CAP_NEEDS_SCORES): the host "
            "trains scores for unstructured, score-based criteria only; drop the flag or declare "
            "CAP_GRANULARITY_UNSTRUCTURED");
    if (info.granularity == CAP_GRANULARITY_UNSTRUCTURED && info.score_based) {
        const uint32_t pass_only = CAP_NEEDS_WEIGHT_GRADS | CAP_NEEDS_INPUT_NORMS | CAP_NEEDS_INPUT_GRAM;
        if (needs & pass_only)
            return std::string(
                "a score-based criterion gets its weights and scores at every step, not weight "
                "gradients or input statistics (CAP_NEEDS_WEIGHT_GRADS, CAP_NEEDS_INPUT_NORMS, "
                "CAP_NEEDS_INPUT_GRAM): those come with an importance pass; drop them, or declare "
                "the criterion importance-based (score_based = 0) and prune at a schedule's stages");
    }
    if (info.granularity == CAP_GRANULARITY_UNSTRUCTURED && !info.score_based) {
        if (needs & (CAP_NEEDS_MASK_GRADS | CAP_NEEDS_SCORES))
            return std::string(
                "an unstructured, importance-based criterion gets each weight, its gradient "
                "(CAP_NEEDS_WEIGHT_GRADS: d loss / d mask of a kept weight is its weight times that) "
                "and input statistics, not mask gradients or learnable scores "
                "(CAP_NEEDS_MASK_GRADS, CAP_NEEDS_SCORES); drop them, or declare the criterion "
                "score-based");
    }
    const uint32_t known = CAP_NEEDS_MASK_GRADS | CAP_NEEDS_WEIGHTS | CAP_NEEDS_WEIGHT_GRADS | CAP_NEEDS_SCORES |
                           CAP_NEEDS_INPUT_NORMS | CAP_NEEDS_INPUT_GRAM;
    if (needs & ~known)
        return "needs has bits this host (ABI " + std::to_string(CAP_ABI_VERSION_MAJOR) + "." +
               std::to_string(CAP_ABI_VERSION_MINOR) + ") does not know: 0x" + [&] {
                   char buf[16];
                   std::snprintf(buf, sizeof(buf), "%x", needs & ~known);
                   return std::string(buf);
               }();
    return std::nullopt;
}

CriterionPlugin::CriterionPlugin(std::unique_ptr<PluginInstance> instance) : instance_(std::move(instance)) {
    info_ = blank_struct<cap_criterion_info>();
    instance_->call("info", [&] { return api().info(instance_->handle(), &info_); });
    if (info_.granularity != CAP_GRANULARITY_STRUCTURED && info_.granularity != CAP_GRANULARITY_UNSTRUCTURED)
        throw PluginError(
            instance_->label() + ": info declares unknown granularity " + std::to_string(info_.granularity),
            CAP_ERROR_INVALID_ARGUMENT);
    const char* style = score_based() ? "score-based" : "importance-based";
    auto need = [&](size_t offset, const char* entry) {
        if (!has(offset))
            throw PluginError(instance_->label() + " declares itself " + style + " but has no '" + entry + "' entry",
                              CAP_ERROR_INVALID_ARGUMENT);
    };
    if (score_based()) {
        need(offsetof(cap_criterion_api, binarize), "binarize");
    } else {
        need(offsetof(cap_criterion_api, reset), "reset");
        need(offsetof(cap_criterion_api, accumulate), "accumulate");
        need(offsetof(cap_criterion_api, importance), "importance");
        need(offsetof(cap_criterion_api, select), "select");
    }
}

void CriterionPlugin::require(bool present, const char* what) const {
    if (!present) throw PluginError(instance_->label() + " does not implement " + what, CAP_ERROR_UNSUPPORTED);
}

void CriterionPlugin::require_outputs(const Groups& groups, size_t outputs, const char* what) const {
    if (outputs != groups.size())
        throw std::invalid_argument(std::string(what) + ": " + std::to_string(outputs) + " outputs for " +
                                    std::to_string(groups.size()) + " groups");
}

void CriterionPlugin::reset() const {
    require(has(offsetof(cap_criterion_api, reset)), "reset");
    instance_->call("reset", [&] { return api().reset(instance_->handle()); });
}

void CriterionPlugin::accumulate(const cap_exec_context& ctx, const cap_batch_info& batch, const Groups& groups) const {
    require(has(offsetof(cap_criterion_api, accumulate)), "accumulate");
    instance_->call("accumulate", [&] {
        return api().accumulate(instance_->handle(), &ctx, &batch, groups.data(), count_of(groups));
    });
}

void CriterionPlugin::importance(const cap_exec_context& ctx, const Groups& groups, const Outputs& out) const {
    require(has(offsetof(cap_criterion_api, importance)), "importance");
    require_outputs(groups, out.size(), "importance");
    instance_->call("importance", [&] {
        return api().importance(instance_->handle(), &ctx, groups.data(), count_of(groups), out.data());
    });
}

void CriterionPlugin::select(const cap_exec_context& ctx, const cap_selection& selection, const Groups& groups,
                             const Outputs& new_masks) const {
    require(has(offsetof(cap_criterion_api, select)), "select");
    require_outputs(groups, new_masks.size(), "select");
    if (!selection.constraints) throw std::invalid_argument("select: selection without constraints");
    instance_->call("select", [&] {
        return api().select(instance_->handle(), &ctx, &selection, groups.data(), count_of(groups), new_masks.data());
    });
}

bool CriterionPlugin::has_init_scores() const { return has(offsetof(cap_criterion_api, init_scores)); }
bool CriterionPlugin::has_binarize() const { return has(offsetof(cap_criterion_api, binarize)); }
bool CriterionPlugin::has_binarize_backward() const { return has(offsetof(cap_criterion_api, binarize_backward)); }
bool CriterionPlugin::has_regularizer() const { return has(offsetof(cap_criterion_api, regularizer)); }

void CriterionPlugin::init_scores(const cap_exec_context& ctx, const Groups& groups, const Outputs& out) const {
    require(has_init_scores(), "init_scores");
    require_outputs(groups, out.size(), "init_scores");
    instance_->call("init_scores", [&] {
        return api().init_scores(instance_->handle(), &ctx, groups.data(), count_of(groups), out.data());
    });
}

void CriterionPlugin::binarize(const cap_exec_context& ctx, const cap_schedule_point& point,
                               const cap_progress& progress, const Groups& groups, const Outputs& masks) const {
    require(has_binarize(), "binarize");
    require_outputs(groups, masks.size(), "binarize");
    instance_->call("binarize", [&] {
        return api().binarize(instance_->handle(), &ctx, &point, &progress, groups.data(), count_of(groups),
                              masks.data());
    });
}

void CriterionPlugin::binarize_backward(const cap_exec_context& ctx, const cap_schedule_point& point,
                                        const cap_progress& progress, const Groups& groups,
                                        const std::vector<const DLTensor*>& grad_masks,
                                        const Outputs& grad_scores) const {
    require(has_binarize_backward(), "binarize_backward");
    require_outputs(groups, grad_masks.size(), "binarize_backward");
    require_outputs(groups, grad_scores.size(), "binarize_backward");
    instance_->call("binarize_backward", [&] {
        return api().binarize_backward(instance_->handle(), &ctx, &point, &progress, groups.data(), count_of(groups),
                                       grad_masks.data(), grad_scores.data());
    });
}

double CriterionPlugin::regularizer(const cap_exec_context& ctx, const cap_schedule_point& point,
                                    const cap_progress& progress, const Groups& groups,
                                    const Outputs& grad_scores) const {
    require(has_regularizer(), "regularizer");
    require_outputs(groups, grad_scores.size(), "regularizer");
    double value = 0;
    instance_->call("regularizer", [&] {
        return api().regularizer(instance_->handle(), &ctx, &point, &progress, groups.data(), count_of(groups), &value,
                                 grad_scores.data());
    });
    return value;
}

}  // namespace cap::host
