#include "prune/structured_selection.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "cap/plugin_torch.hpp"
#include "prune/linear_evidence.hpp"

namespace cap::prune {

model::ForwardOptions StructuredMasks::forward() const {
    model::ForwardOptions f;
    f.head_mask = heads;
    f.ffn_mask = ffn;
    return f;
}

int64_t StructuredMasks::pruned_heads() const { return (heads == 0).sum().item<int64_t>(); }
int64_t StructuredMasks::pruned_neurons() const { return (ffn == 0).sum().item<int64_t>(); }

namespace {

// The two groups a structured criterion sees, with views that live as long as this object.
class UnitGroups {
public:
    UnitGroups(const at::Tensor& heads, const at::Tensor& ffn, const at::Tensor& head_grad, const at::Tensor& ffn_grad)
        : tensors_{heads.contiguous(), ffn.contiguous(), head_grad, ffn_grad} {
        for (auto& t : tensors_)
            if (t.defined()) t = t.contiguous();
        for (size_t i = 0; i < 4; ++i)
            if (tensors_[i].defined()) views_[i] = cap::to_dl(tensors_[i]);
        make(0, "heads", CAP_UNITS_HEADS);
        make(1, "ffn", CAP_UNITS_FFN_NEURONS);
    }
    const std::vector<const cap_unit_group*>& groups() const { return pointers_; }
    // ABI 1.2: hangs the linears on the heads and ffn groups (they must outlive this object).
    void attach(const LinearViews& linears) { linears.attach(groups_[0], groups_[1]); }

private:
    void make(size_t i, const char* name, cap_unit_kind kind) {
        cap_unit_group& g = groups_[i];
        g = {};
        g.struct_size = sizeof(g);
        g.name = name;
        g.unit_kind = kind;
        g.layer = -1;
        g.mask = &views_[i];
        g.mask_grad = tensors_[i + 2].defined() ? &views_[i + 2] : nullptr;
        pointers_.push_back(&g);
    }
    std::array<at::Tensor, 4> tensors_;
    std::array<DLTensor, 4> views_{};
    std::array<cap_unit_group, 2> groups_{};
    std::vector<const cap_unit_group*> pointers_;
};

// The first unit (layer l, index i) where `bad` holds, as "layer l, <what> i"; "" when none.
std::string first_unit(const at::Tensor& bad, const char* what) {
    at::Tensor where = bad.nonzero();
    if (where.size(0) == 0) return "";
    return "layer " + std::to_string(where[0][0].item<int64_t>()) + ", " + what + " " +
           std::to_string(where[0][1].item<int64_t>());
}

// As strict as check-plugin: finite scores, 0/1 masks of the right shape, no pruned unit back.
void check_result(const std::string& plugin, const at::Tensor& importance, const at::Tensor& before,
                  const at::Tensor& after, const char* unit, const char* units) {
    const std::string prefix = plugin + " ";
    if (auto u = first_unit(at::isfinite(importance).logical_not(), unit); !u.empty())
        throw std::runtime_error(prefix + "gave a non-finite importance to " + units + " (first: " + u + ")");
    if (!after.sizes().equals(before.sizes()))
        throw std::runtime_error(prefix + "returned a " + unit + " mask of the wrong shape");
    if (auto u = first_unit((after != 0) & (after != 1), unit); !u.empty())
        throw std::runtime_error(prefix + "returned a " + unit + " mask with values other than 0 and 1 (first: " + u +
                                 ")");
    if (auto u = first_unit((before == 0) & (after != 0), unit); !u.empty())
        throw std::runtime_error(prefix + "brought a pruned " + unit + " back (" + u +
                                 "): units pruned before stay pruned");
}

}  // namespace

std::vector<HeadShortfall> head_shortfalls(const at::Tensor& heads, int64_t min_heads) {
    std::vector<HeadShortfall> out;
    const at::Tensor kept = heads.sum(1).to(at::kCPU, at::kLong);
    for (int64_t layer = 0; layer < kept.size(0); ++layer)
        if (kept[layer].item<int64_t>() < min_heads) out.push_back({layer, kept[layer].item<int64_t>()});
    return out;
}

SelectionResult select_structured(model::Bert& model, const data::Task& task, const host::CriterionPlugin& criterion,
                                  const Objective& objective, const StructuredMasks& current,
                                  const cap_selection& selection, const ImportancePass& pass,
                                  const cap_exec_context& context, const cap_progress& progress,
                                  bool stop_on_violation) {
    const auto& info = criterion.info();
    if (info.granularity != CAP_GRANULARITY_STRUCTURED)
        throw std::runtime_error(criterion.instance().label() + " is not a structured criterion");
    if (auto problem = host::needs_problem(info))
        throw std::runtime_error(criterion.instance().label() + ": " + *problem);
    LinearEvidence evidence(model, info.needs);
    if (evidence.wanted())
        spdlog::info("importance pass: {} sees {}", criterion.instance().label(), evidence.describe());

    criterion.reset();
    run_importance_pass(
        model, task, objective, pass, progress, evidence,
        [&] {
            PassForward f;
            StructuredMasks leaf{current.heads.detach().clone().requires_grad_(true),
                                 current.ffn.detach().clone().requires_grad_(true)};
            f.options = leaf.forward();
            f.leaves = {leaf.heads, leaf.ffn};
            return f;
        },
        [&](const data::Batch& batch, const std::vector<at::Tensor>& grads) {
            UnitGroups groups(current.heads, current.ffn, grads[0], grads[1]);
            const LinearViews linears(evidence.linears(), evidence.head_size());
            if (evidence.wanted()) groups.attach(linears);
            criterion.accumulate(context, batch_info(batch), groups.groups());
        });

    SelectionResult r;
    r.importance = {at::empty_like(current.heads), at::empty_like(current.ffn)};
    r.masks = {at::empty_like(current.heads), at::empty_like(current.ffn)};
    UnitGroups groups(current.heads, current.ffn, at::Tensor(), at::Tensor());
    // importance() and select() see the weights too (a one-shot magnitude criterion ranks there);
    // the batch's gradients and statistics belong to accumulate() only.
    std::vector<LinearTensors> weights_only = evidence.linears();
    for (auto& t : weights_only) t.weight_grad = t.input_sq_norms = t.input_gram = at::Tensor();
    const LinearViews linears(weights_only, evidence.head_size());
    if (evidence.wanted()) groups.attach(linears);
    DLTensor imp[2] = {cap::to_dl(r.importance.heads), cap::to_dl(r.importance.ffn)};
    DLTensor out[2] = {cap::to_dl(r.masks.heads), cap::to_dl(r.masks.ffn)};
    criterion.importance(context, groups.groups(), {&imp[0], &imp[1]});
    criterion.select(context, selection, groups.groups(), {&out[0], &out[1]});
    const std::string& plugin = criterion.instance().label();
    check_result(plugin, r.importance.heads, current.heads, r.masks.heads, "head", "heads");
    check_result(plugin, r.importance.ffn, current.ffn, r.masks.ffn, "FFN neuron", "FFN neurons");
    const int64_t min_heads = selection.constraints ? selection.constraints->min_heads_per_layer : 0;
    const std::vector<HeadShortfall> before = head_shortfalls(current.heads, min_heads);
    for (const auto& s : head_shortfalls(r.masks.heads, min_heads)) {
        const bool known = std::any_of(before.begin(), before.end(), [&](const HeadShortfall& b) {
            return b.layer == s.layer && b.heads_kept == s.heads_kept;
        });
        if (known) continue;  // left so by an earlier stage and reported there
        const std::string what = plugin + " left layer " + std::to_string(s.layer) + " with " +
                                 std::to_string(s.heads_kept) +
                                 " heads; [constraints] min_heads_per_layer = " + std::to_string(min_heads);
        const std::string why = plugin == "criterion/first_order"
                                    ? " (it ranks pruned heads too, as the reference does: "
                                      "protect_kept_heads_only = true keeps the guarantee)"
                                    : "";
        if (stop_on_violation)
            throw ConstraintViolation(what + why + "; [constraints] on_violation = \"stop\" ends the run here");
        spdlog::warn(
            "{}{}; going on, as the reference does ([constraints] on_violation = \"stop\" ends the run "
            "instead)",
            what, why);
    }
    const int64_t heads = r.masks.pruned_heads() - current.pruned_heads();
    const int64_t neurons = r.masks.pruned_neurons() - current.pruned_neurons();
    if (heads != selection.heads_to_prune || neurons != selection.ffn_to_prune)
        throw std::runtime_error(plugin + " pruned " + std::to_string(heads) + " heads and " + std::to_string(neurons) +
                                 " FFN neurons; the schedule planned " + std::to_string(selection.heads_to_prune) +
                                 " and " + std::to_string(selection.ffn_to_prune));
    return r;
}

}  // namespace cap::prune
