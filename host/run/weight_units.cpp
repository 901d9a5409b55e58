// Single weights as StageLoop's units (taylor or wanda per weight, at the stages of one_shot or
// iterative): one fixed mask per encoder linear, chosen at each stage from an importance pass
// and applied as W * M while retraining. The result is saved as a score-based run's is
// (run/weight_result.hpp); per-weight importance is not kept (it is the size of the model).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <map>

#include "model/safetensors.hpp"
#include "model/weight_masks.hpp"
#include "prune/remaining_weights.hpp"
#include "prune/weight_selection.hpp"
#include "run/pruning_run.hpp"
#include "run/stage_units.hpp"
#include "run/weight_result.hpp"

namespace cap::run {

namespace {

class WeightUnits : public StageUnits {
public:
    explicit WeightUnits(PruningRun& run)
        : masks_(run.student),
          transform_(masks_.transform()),
          pass_{run.recipe.prune.importance_subset, run.recipe.prune.importance_batch_size, run.device} {
        if (run.recipe.prune.freeze_embeddings) freeze_embeddings(run.student);
    }

    void select(PruningRun& run, int, const cap_stage& plan, const cap_progress& progress) override {
        cap_selection selection{};
        selection.struct_size = sizeof(selection);
        selection.keep_fraction = 1.0 - plan.target_sparsity;
        selection.constraints = &run.recipe.constraints;
        chosen_ = prune::select_weights(run.student, run.task, run.criterion, *run.objective, masks_, selection, pass_,
                                        run.context, progress)
                      .masks;
    }

    void commit() override {
        masks_.binarize([&](const std::vector<at::Tensor>&) { return chosen_; });
    }

    model::ForwardOptions forward() const override {
        model::ForwardOptions f;
        f.weights = &transform_;
        return f;
    }

    double sparsity() const override { return 1.0 - masks_.kept_fraction(); }

    void describe(nlohmann::ordered_json& e) const override { e["weights_kept"] = masks_.kept_fraction(); }

    std::string summary() const override {
        return fmt::format("{:.2f}% of masked weights kept", 100.0 * masks_.kept_fraction());
    }

    nlohmann::ordered_json save_result(PruningRun& run) override { return save_weight_result(run, masks_, {}); }

    void save_state(const std::filesystem::path& folder) const override {
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (const auto& slot : masks_.slots()) tensors.emplace_back(slot.name, slot.mask);
        model::write_safetensors(folder / "units.safetensors", tensors);
    }

    void restore_state(const std::filesystem::path& folder, int) override {
        const auto file = folder / "units.safetensors";
        auto saved = model::read_safetensors(file);
        std::map<std::string, at::Tensor> by_name(saved.tensors.begin(), saved.tensors.end());
        std::vector<at::Tensor> restored;
        for (const auto& slot : masks_.slots()) {
            auto it = by_name.find(slot.name);
            if (it == by_name.end() || !it->second.sizes().equals(slot.mask.sizes()))
                throw std::runtime_error(file.string() + " has no mask for " + slot.name + " of its weight's shape");
            restored.push_back(it->second.to(slot.mask.device()));
        }
        masks_.binarize([&](const std::vector<at::Tensor>&) { return restored; });
    }

private:
    model::WeightMasks masks_;
    model::WeightTransform transform_;  // reads masks_ at every forward pass
    std::vector<at::Tensor> chosen_;
    prune::ImportancePass pass_;
};

}  // namespace

std::unique_ptr<StageUnits> make_weight_units(PruningRun& run) { return std::make_unique<WeightUnits>(run); }

}  // namespace cap::run
