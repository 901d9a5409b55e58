// CAP-f's strategy (docs/algorithms.md §2): iterative pruning at the schedule's stages. For every
// stage: an importance pass and the criterion's selection, the bank the contrastive modules
// asked for, the new masks, retraining with a fresh optimizer and learning-rate schedule, and an
// evaluation. What is pruned (heads and FFN neurons, or single weights) and how the result is
// saved belong to the units (run/stage_units.hpp).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "run/pruning_run.hpp"
#include "run/schedule_trace.hpp"
#include "run/stage_units.hpp"

namespace cap::run {

namespace {

class StageLoop : public PruningStrategy {
public:
    void check_criterion(const host::CriterionPlugin&) const override {}

    void prepare(PruningRun& run) override {
        stages_ = run.schedule.stages();
        if (stages_.empty())
            throw std::runtime_error(run.schedule.instance().label() + " has no stages (a continuous schedule); " +
                                     run.criterion.instance().label() +
                                     " prunes at pruning events and needs an iterative plan (one_shot, iterative)");
        units_ = run.criterion.info().granularity == CAP_GRANULARITY_STRUCTURED ? make_structured_units(run)
                                                                                : make_weight_units(run);
    }

    nlohmann::ordered_json run(PruningRun& run) override {
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
        spdlog::info("pruning {} in {} stages, {} steps of batch {} in all ({})", run.task.name(), stages_.size(),
                     total_steps, run.train.batch_size, run.parts());

        nlohmann::ordered_json summary;
        summary["stages"] = nlohmann::ordered_json::array();
        int64_t step = 0;
        for (size_t k = 0; k < stages_.size(); ++k) {
            const cap_stage& st = stages_[k];
            const std::string name = fmt::format("stage-{:02d}", k);
            const auto stage_start = Clock::now();
            try {
                units_->select(run, static_cast<int>(k), st, progress_at(step));
            } catch (const std::exception& e) {
                throw std::runtime_error(name + ": " + e.what());  // which stage, for a run of ten
            }
            spdlog::info("{}: importance pass and selection in {:.1f} s", name, seconds_since(stage_start));

            // Banks: the model as it stands before this stage's pruning (the pre-trained model
            // at stage 0, the previous stage's result after), and the teacher's once.
            const uint32_t capture = k == 0 ? CAP_CAPTURE_PRETRAINED : CAP_CAPTURE_SNAPSHOT;
            if (run.anyone_wants(capture)) {
                auto enc = run.encode_student(units_->forward(), false);
                run.deliver_bank(capture, k == 0 ? -1 : static_cast<int32_t>(k - 1), step, units_->sparsity(),
                                 enc.representations, enc.labels);
            }
            if (k == 0 && run.anyone_wants(CAP_CAPTURE_FINETUNED))
                run.deliver_bank(CAP_CAPTURE_FINETUNED, -1, step, 0.0, run.teacher_outputs.representations,
                                 run.teacher_outputs.labels);

            units_->commit();
            const model::ForwardOptions forward = units_->forward();
            settings::FineTuneSettings settings = run.train;
            settings.epochs = st.retrain_epochs;
            train::StageContext ctx = run.stage_context(name);
            ctx.step_loss = [&](const data::Batch& batch, int64_t at) {
                return run.objective->compute(run.student, batch, forward, progress_at(at));
            };
            ctx.eval_forward = forward;
            ctx.step_offset = step;
            ctx.event_fields = {{"target_sparsity", st.target_sparsity}};
            nlohmann::ordered_json metrics;
            if (stage_steps[k] > 0) {
                metrics = train::fine_tune(ctx, settings);
            } else {
                auto options = run.eval_options();
                options.forward = forward;
                metrics = run.task.evaluate(run.student, options).metrics;
                nlohmann::ordered_json e{{"event", "eval"}, {"stage", name}, {"epoch", 0}, {"step", step}};
                for (auto& [key, value] : metrics.items()) e[key] = value;
                run.log.write(e);
            }
            step += stage_steps[k];

            nlohmann::ordered_json e{
                {"event", "stage"}, {"stage", name}, {"step", step}, {"target_sparsity", st.target_sparsity}};
            units_->describe(e);
            e["seconds"] = seconds_since(stage_start);
            for (auto& [key, value] : metrics.items()) e[key] = value;
            run.add_bank_bytes(e);
            run.log.write(e);
            summary["stages"].push_back(e);
            spdlog::info("{} done: {:.0f}% pruned, {}: {}", name, st.target_sparsity * 100, units_->summary(),
                         metrics.dump());
        }
        summary["final"] = units_->save_result(run);
        return summary;
    }

private:
    std::vector<cap_stage> stages_;
    std::unique_ptr<StageUnits> units_;
};

}  // namespace

std::unique_ptr<PruningStrategy> make_stage_loop() { return std::make_unique<StageLoop>(); }

}  // namespace cap::run
