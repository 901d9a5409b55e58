// CAP-f's strategy (docs/algorithms.md §2): iterative structured pruning. For every stage of the
// schedule: an importance pass and the criterion's selection, the bank the contrastive modules
// asked for, the new masks, retraining with a fresh optimizer and learning-rate schedule, and an
// evaluation. Then the result is saved compacted (final/) and, optionally, dense with the pruned
// weights zeroed (final-masked/).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "model/compaction.hpp"
#include "prune/stage_record.hpp"
#include "prune/structured_selection.hpp"
#include "run/pruning_run.hpp"
#include "run/schedule_trace.hpp"

namespace cap::run {

namespace {

class StageLoop : public PruningStrategy {
public:
    void check_criterion(const host::CriterionPlugin& criterion) const override {
        if (criterion.info().granularity != CAP_GRANULARITY_STRUCTURED)
            throw std::runtime_error(criterion.instance().label() +
                                     " ranks single weights at pruning events; cap prunes weights only with "
                                     "score-based criteria (movement, soft_movement, magnitude) and a per-step "
                                     "schedule (cubic)");
    }

    void prepare(PruningRun& run) override {
        stages_ = run.schedule.stages();
        if (stages_.empty())
            throw std::runtime_error(run.schedule.instance().label() +
                                     " has no stages (a continuous schedule); "
                                     "structured pruning needs an iterative plan");
    }

    nlohmann::ordered_json run(PruningRun& run) override {
        const auto& config = run.student->config();
        std::vector<int64_t> stage_steps;
        int64_t total_steps = 0;
        for (const auto& st : stages_) {
            // retrain_epochs = 0: the masks are evaluated as chosen (a one-shot baseline such as wanda).
            stage_steps.push_back(
                st.retrain_epochs > 0
                    ? std::max<int64_t>(1, std::llround(std::ceil(st.retrain_epochs * double(run.steps_per_epoch))))
                    : 0);
            total_steps += stage_steps.back();
        }
        auto progress_at = [&](int64_t at) { return run::progress_at(at, total_steps, run.steps_per_epoch); };

        prune::StructuredMasks masks{
            at::ones({config.num_hidden_layers, config.num_attention_heads}, at::device(run.device)),
            at::ones({config.num_hidden_layers, config.intermediate_size}, at::device(run.device))};
        const int64_t all_heads = masks.heads.numel(), all_neurons = masks.ffn.numel();
        prune::StageRecord record(run.run_dir);
        prune::ImportancePass pass{run.recipe.prune.importance_subset, run.recipe.prune.importance_batch_size,
                                   run.device};
        spdlog::info("pruning {} in {} stages, {} steps of batch {} in all ({})", run.task.name(), stages_.size(),
                     total_steps, run.train.batch_size, run.parts());

        nlohmann::ordered_json summary;
        summary["stages"] = nlohmann::ordered_json::array();
        int64_t step = 0;
        for (size_t k = 0; k < stages_.size(); ++k) {
            const cap_stage& st = stages_[k];
            const std::string name = fmt::format("stage-{:02d}", k);
            const auto stage_start = Clock::now();

            cap_selection selection{};
            selection.struct_size = sizeof(selection);
            selection.heads_to_prune = st.heads_to_prune;
            selection.ffn_to_prune = st.ffn_to_prune;
            selection.keep_fraction = 1.0 - st.target_sparsity;
            selection.constraints = &run.recipe.constraints;
            prune::SelectionResult chosen;
            try {
                chosen = prune::select_structured(run.student, run.task, run.criterion, *run.objective, masks,
                                                  selection, pass, run.context, progress_at(step));
            } catch (const std::exception& e) {
                throw std::runtime_error(name + ": " + e.what());  // which stage, for a run of ten
            }
            record.add(static_cast<int>(k), chosen.importance.heads, chosen.importance.ffn, chosen.masks.heads,
                       chosen.masks.ffn);
            spdlog::info("{}: importance pass and selection in {:.1f} s", name, seconds_since(stage_start));

            // Banks: the model as it stands before this stage's pruning (the pre-trained model
            // at stage 0, the previous stage's result after), and the teacher's once.
            const uint32_t capture = k == 0 ? CAP_CAPTURE_PRETRAINED : CAP_CAPTURE_SNAPSHOT;
            if (run.anyone_wants(capture)) {
                auto enc = run.encode_student(masks.forward(), false);
                const double sparsity =
                    double(masks.pruned_heads() + masks.pruned_neurons()) / double(all_heads + all_neurons);
                run.deliver_bank(capture, k == 0 ? -1 : static_cast<int32_t>(k - 1), step, sparsity,
                                 enc.representations, enc.labels);
            }
            if (k == 0 && run.anyone_wants(CAP_CAPTURE_FINETUNED))
                run.deliver_bank(CAP_CAPTURE_FINETUNED, -1, step, 0.0, run.teacher_outputs.representations,
                                 run.teacher_outputs.labels);

            masks = chosen.masks;
            settings::FineTuneSettings settings = run.train;
            settings.epochs = st.retrain_epochs;
            train::StageContext ctx = run.stage_context(name);
            ctx.step_loss = [&](const data::Batch& batch, int64_t at) {
                return run.objective->compute(run.student, batch, masks.forward(), progress_at(at));
            };
            ctx.eval_forward = masks.forward();
            ctx.step_offset = step;
            ctx.event_fields = {{"target_sparsity", st.target_sparsity}};
            nlohmann::ordered_json metrics;
            if (stage_steps[k] > 0) {
                metrics = train::fine_tune(ctx, settings);
            } else {
                metrics = run.task
                              .evaluate(run.student,
                                        [&] {
                                            auto options = run.eval_options();
                                            options.forward = masks.forward();
                                            return options;
                                        }())
                              .metrics;
                nlohmann::ordered_json e{{"event", "eval"}, {"stage", name}, {"epoch", 0}, {"step", step}};
                for (auto& [key, value] : metrics.items()) e[key] = value;
                run.log.write(e);
            }
            step += stage_steps[k];

            nlohmann::ordered_json e{{"event", "stage"},
                                     {"stage", name},
                                     {"step", step},
                                     {"target_sparsity", st.target_sparsity},
                                     {"heads_kept", all_heads - masks.pruned_heads()},
                                     {"ffn_neurons_kept", all_neurons - masks.pruned_neurons()},
                                     {"seconds", seconds_since(stage_start)}};
            for (auto& [key, value] : metrics.items()) e[key] = value;
            run.add_bank_bytes(e);
            run.log.write(e);
            summary["stages"].push_back(e);
            spdlog::info("{} done: {:.0f}% pruned, {} heads and {} FFN neurons kept: {}", name,
                         st.target_sparsity * 100, e["heads_kept"].get<int64_t>(), e["ffn_neurons_kept"].get<int64_t>(),
                         metrics.dump());
        }
        summary["final"] = save_result(run, masks);
        return summary;
    }

private:
    // The result, compacted; its evaluation checks that compaction changed nothing.
    static nlohmann::ordered_json save_result(PruningRun& run, const prune::StructuredMasks& masks) {
        model::Bert compact = model::compact(run.student, masks.heads, masks.ffn);
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
            model::zero_pruned_weights(run.student, masks.heads, masks.ffn);
            save_model_folder(run.student, run.run_dir / "final-masked", run.source);
            spdlog::info("dense model with pruned weights zeroed saved to {}", (run.run_dir / "final-masked").string());
        }
        return e;
    }

    std::vector<cap_stage> stages_;
};

}  // namespace

std::unique_ptr<PruningStrategy> make_stage_loop() { return std::make_unique<StageLoop>(); }

}  // namespace cap::run
