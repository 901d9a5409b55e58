// Heads and FFN neurons as StageLoop's units (CAP-f): masks [layers, heads] and [layers,
// intermediate], importance and masks of every stage recorded in the run folder, and a result
// saved compacted (final/) and, optionally, dense with the pruned weights zeroed (final-masked/).
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/compaction.hpp"
#include "model/safetensors.hpp"
#include "prune/stage_record.hpp"
#include "prune/structured_selection.hpp"
#include "run/pruning_run.hpp"
#include "run/stage_units.hpp"

namespace cap::run {

namespace {

class StructuredUnits : public StageUnits {
public:
    explicit StructuredUnits(PruningRun& run)
        : masks_{at::ones({run.student->config().num_hidden_layers, run.student->config().num_attention_heads},
                          at::device(run.device)),
                 at::ones({run.student->config().num_hidden_layers, run.student->config().intermediate_size},
                          at::device(run.device))},
          record_(run.run_dir),
          min_heads_(run.recipe.constraints.min_heads_per_layer),
          pass_{run.recipe.prune.importance_subset, run.recipe.prune.importance_batch_size, run.device} {}

    void select(PruningRun& run, int stage, const cap_stage& plan, const cap_progress& progress) override {
        cap_selection selection{};
        selection.struct_size = sizeof(selection);
        selection.heads_to_prune = plan.heads_to_prune;
        selection.ffn_to_prune = plan.ffn_to_prune;
        selection.keep_fraction = 1.0 - plan.target_sparsity;
        selection.constraints = &run.recipe.constraints;
        chosen_ = prune::select_structured(run.student, run.task, run.criterion, *run.objective, masks_, selection,
                                           pass_, run.context, progress, run.recipe.stop_on_violation);
        record_.add(stage, chosen_.importance.heads, chosen_.importance.ffn, chosen_.masks.heads, chosen_.masks.ffn);
    }

    void commit() override { masks_ = chosen_.masks; }
    model::ForwardOptions forward() const override { return masks_.forward(); }

    double sparsity() const override {
        return double(masks_.pruned_heads() + masks_.pruned_neurons()) /
               double(masks_.heads.numel() + masks_.ffn.numel());
    }

    void describe(nlohmann::ordered_json& e) const override {
        e["heads_kept"] = masks_.heads.numel() - masks_.pruned_heads();
        e["ffn_neurons_kept"] = masks_.ffn.numel() - masks_.pruned_neurons();
        // Layers below [constraints] min_heads_per_layer (on_violation = "warn" lets a run go on
        // with them, as the reference does): recorded so that reports can say so.
        const auto shortfalls = prune::head_shortfalls(masks_.heads, min_heads_);
        if (!shortfalls.empty()) {
            auto& list = e["layers_below_min_heads"] = nlohmann::ordered_json::array();
            for (const auto& s : shortfalls)
                list.push_back({{"layer", s.layer}, {"heads_kept", s.heads_kept}, {"min_heads_per_layer", min_heads_}});
        }
    }

    std::string summary() const override {
        return fmt::format("{} heads and {} FFN neurons kept", masks_.heads.numel() - masks_.pruned_heads(),
                           masks_.ffn.numel() - masks_.pruned_neurons());
    }

    // The result, compacted; its evaluation checks that compaction changed nothing.
    nlohmann::ordered_json save_result(PruningRun& run) override {
        model::Bert compact = model::compact(run.student, masks_.heads, masks_.ffn);
        run.precision.apply(compact);
        save_model_folder(compact, run.run_dir / "final", run.source);
        auto final_metrics = run.task.evaluate(compact, run.eval_options()).metrics;
        int64_t parameters = 0;
        for (const auto& p : compact->parameters()) parameters += p.numel();
        nlohmann::ordered_json e{
            {"event", "final"}, {"model", (run.run_dir / "final").string()}, {"parameters", parameters}};
        for (auto& [key, value] : final_metrics.items()) e[key] = value;
        run.log.write(e);
        spdlog::info("compacted model saved to {}: {}", (run.run_dir / "final").string(), final_metrics.dump());
        if (run.recipe.prune.save_masked) {
            model::zero_pruned_weights(run.student, masks_.heads, masks_.ffn);
            save_model_folder(run.student, run.run_dir / "final-masked", run.source);
            spdlog::info("dense model with pruned weights zeroed saved to {}", (run.run_dir / "final-masked").string());
        }
        return e;
    }

    void save_state(const std::filesystem::path& folder) const override {
        model::write_safetensors(folder / "units.safetensors", {{"heads", masks_.heads}, {"ffn", masks_.ffn}});
    }

    void restore_state(const std::filesystem::path& folder, int stage) override {
        const auto file = folder / "units.safetensors";
        auto saved = model::read_safetensors(file);
        prune::StructuredMasks restored;
        for (auto& [name, t] : saved.tensors) (name == "heads" ? restored.heads : restored.ffn) = t;
        if (!restored.heads.defined() || !restored.ffn.defined() ||
            !restored.heads.sizes().equals(masks_.heads.sizes()) || !restored.ffn.sizes().equals(masks_.ffn.sizes()))
            throw std::runtime_error(file.string() + " does not hold head and FFN masks of the model's shape");
        record_.restore(stage);
        masks_ = {restored.heads.to(masks_.heads.device()), restored.ffn.to(masks_.ffn.device())};
    }

private:
    prune::StructuredMasks masks_;
    prune::SelectionResult chosen_;
    prune::StageRecord record_;
    int64_t min_heads_;
    prune::ImportancePass pass_;
};

}  // namespace

std::unique_ptr<StageUnits> make_structured_units(PruningRun& run) { return std::make_unique<StructuredUnits>(run); }

}  // namespace cap::run
