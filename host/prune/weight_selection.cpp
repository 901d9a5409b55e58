#include "prune/weight_selection.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <stdexcept>

#include "cap/plugin_torch.hpp"
#include "prune/linear_evidence.hpp"

namespace cap::prune {

std::string first_weight(const at::Tensor& bad) {
    at::Tensor where = bad.nonzero();
    if (where.size(0) == 0) return "";
    return "row " + std::to_string(where[0][0].item<int64_t>()) + ", column " +
           std::to_string(where[0][1].item<int64_t>());
}

namespace {

// As strict as check-plugin: finite importance, 0/1 masks of the weight's shape, no pruned
// weight back.
void check_linear(const std::string& plugin, const std::string& linear, const at::Tensor& importance,
                  const at::Tensor& before, const at::Tensor& after) {
    const std::string prefix = plugin + " ";
    if (auto w = first_weight(at::isfinite(importance).logical_not()); !w.empty())
        throw std::runtime_error(prefix + "gave a non-finite importance to " + linear + " (first: " + w + ")");
    if (auto w = first_weight((after != 0) & (after != 1)); !w.empty())
        throw std::runtime_error(prefix + "returned a mask of " + linear +
                                 " with values other than 0 and 1 (first: " + w + ")");
    if (auto w = first_weight((before == 0) & (after != 0)); !w.empty())
        throw std::runtime_error(prefix + "brought a pruned weight of " + linear + " back (" + w +
                                 "): weights pruned before stay pruned");
}

}  // namespace

WeightSelection select_weights(model::Bert& model, const data::Task& task, const host::CriterionPlugin& criterion,
                               const Objective& objective, const model::WeightMasks& current,
                               const cap_selection& selection, const ImportancePass& pass,
                               const cap_exec_context& context, const cap_progress& progress) {
    const auto& info = criterion.info();
    const std::string& plugin = criterion.instance().label();
    if (info.granularity != CAP_GRANULARITY_UNSTRUCTURED || criterion.score_based())
        throw std::runtime_error(plugin + " is not an unstructured, importance-based criterion");
    if (auto problem = host::needs_problem(info)) throw std::runtime_error(plugin + ": " + *problem);
    // Every group has its weight's mask and weight (a view: no cost), gradients and input
    // statistics as asked.
    LinearEvidence evidence(model, info.needs | CAP_NEEDS_WEIGHTS);
    spdlog::info("importance pass: {} sees {}", plugin, evidence.describe());

    std::vector<at::Tensor> masks;
    for (const auto& slot : current.slots()) masks.push_back(slot.mask.contiguous());
    if (masks.size() != evidence.linears().size())
        throw std::logic_error("weight masks and encoder linears disagree in number");
    // The groups carry the masks' names (those of masks.safetensors and of score-based criteria).
    auto named = [&](std::vector<LinearTensors> linears) {
        for (size_t i = 0; i < linears.size(); ++i) linears[i].name = current.slots()[i].name;
        return linears;
    };
    const model::WeightTransform transform = current.transform();

    criterion.reset();
    run_importance_pass(
        model, task, objective, pass, progress, evidence,
        [&] {
            PassForward f;
            f.options.weights = &transform;
            return f;
        },
        [&](const data::Batch& batch, const std::vector<at::Tensor>&) {
            const auto linears = named(evidence.linears());
            const LinearViews views(linears, evidence.head_size(), masks);
            criterion.accumulate(context, batch_info(batch), views.all());
        });

    // importance() and select() see the weights; the batch's gradients and statistics belong to
    // accumulate() only.
    auto weights_only = named(evidence.linears());
    for (auto& t : weights_only) t.weight_grad = t.input_sq_norms = t.input_gram = at::Tensor();
    const LinearViews views(weights_only, evidence.head_size(), masks);
    WeightSelection r;
    std::vector<DLTensor> imp_views, out_views;
    for (const auto& m : masks) {
        r.importance.push_back(at::empty_like(m));
        r.masks.push_back(at::empty_like(m));
    }
    for (size_t i = 0; i < masks.size(); ++i) {
        imp_views.push_back(cap::to_dl(r.importance[i]));
        out_views.push_back(cap::to_dl(r.masks[i]));
    }
    host::CriterionPlugin::Outputs imp, out;
    for (size_t i = 0; i < masks.size(); ++i) {
        imp.push_back(&imp_views[i]);
        out.push_back(&out_views[i]);
    }
    criterion.importance(context, views.all(), imp);
    criterion.select(context, selection, views.all(), out);

    int64_t kept = 0, total = 0, rows = 0;
    for (size_t i = 0; i < masks.size(); ++i) {
        check_linear(plugin, current.slots()[i].name, r.importance[i], masks[i], r.masks[i]);
        kept += r.masks[i].sum().item<int64_t>();
        total += masks[i].numel();
        rows += masks[i].size(0);
    }
    // The kept count may differ from the target by the rounding of each row (Wanda ranks per row).
    const double planned = selection.keep_fraction * double(total);
    if (std::abs(double(kept) - planned) > double(rows + static_cast<int64_t>(masks.size())))
        throw std::runtime_error(plugin + " kept " + std::to_string(kept) + " of " + std::to_string(total) +
                                 " weights; the schedule planned " + std::to_string(std::llround(planned)) + " (" +
                                 std::to_string(selection.keep_fraction * 100) + "%)");
    return r;
}

}  // namespace cap::prune
