// CAP-f's strategy (docs/algorithms.md §2): iterative pruning at the schedule's stages. For every
// stage: an importance pass and the criterion's selection, the bank the contrastive modules
// asked for, the new masks, retraining with a fresh optimizer and learning-rate schedule, and an
// evaluation. What is pruned (heads and FFN neurons, or single weights) and how the result is
// saved belong to the units (run/stage_units.hpp).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "prune/structured_selection.hpp"
#include "run/pruning_run.hpp"
#include "run/schedule_trace.hpp"
#include "run/stage_units.hpp"
#include "train/checkpoint.hpp"
#include "util/atomic_file.hpp"
#include "util/error_text.hpp"
#include "util/fault_point.hpp"
#include "util/run_lock.hpp"
#include "util/stop_request.hpp"

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
        size_t first_stage = 0;
        bool resumed = false;
        uint64_t selected_bytes = 0;  // metrics.jsonl's size at the resumed stage's selection
        if (run.resume) {
            if (auto cp = restore_newest_stage(run)) {
                first_stage = static_cast<size_t>(cp->at("stage").get<int64_t>());
                step = cp->at("step").get<int64_t>();
                summary["stages"] = cp->at("stages");
                selected_bytes = cp->at("metrics_bytes").get<uint64_t>();
                resumed = true;
            } else {  // pruning starts again: nothing of an earlier attempt counts
                run.log.truncate(run.metrics_bytes_at_start());
                remove_stage_checkpoints(run);
                run.replay_banks(0);  // forgets the journal
            }
        }
        for (size_t k = first_stage; k < stages_.size(); ++k) {
            const cap_stage& st = stages_[k];
            const std::string name = stage_name(k);
            const auto stage_start = Clock::now();
            const bool continuing = resumed && k == first_stage;  // selected before the run stopped
            if (!continuing) {
                try {
                    units_->select(run, static_cast<int>(k), st, progress_at(step));
                } catch (const prune::ConstraintViolation& e) {
                    throw prune::ConstraintViolation(name + ": " + e.what());
                } catch (const std::exception& e) {
                    throw std::runtime_error(name + ": " + util::error_text(e));  // which stage, for a run of ten
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
                save_stage_checkpoint(run, k, step, summary["stages"]);
                util::fault_point("selected", static_cast<int64_t>(k));
                if (util::stop_requested()) {
                    spdlog::warn(
                        "{}: {} received: stopped after the selection, checkpointed; continue with cap run "
                        "--resume",
                        name, util::stop_signal_name());
                    throw util::Interrupted{util::stop_signal_name()};
                }
            }
            const model::ForwardOptions forward = units_->forward();
            settings::FineTuneSettings settings = run.train;
            settings.epochs = st.retrain_epochs;
            train::StageContext ctx = run.stage_context(name);
            ctx.resume = continuing;
            if (continuing) ctx.metrics_bytes_at_start = selected_bytes;
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
                if (continuing) run.log.truncate(selected_bytes);
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
    static std::string stage_name(size_t k) { return fmt::format("stage-{:02d}", k); }

    // After stage k's selection, before its retraining: the committed masks, the model (the
    // previous stage's result), the generators, the run-wide step, the stage events so far and
    // how many banks were delivered. Earlier stages' checkpoints are then removed: a stage
    // continues from its own (its retraining's epoch checkpoints, or this one).
    void save_stage_checkpoint(PruningRun& run, size_t k, int64_t step, const nlohmann::ordered_json& stages) {
        namespace fs = std::filesystem;
        const std::string name = stage_name(k) + "-selected";
        const fs::path tmp = run.checkpoint_dir / (".tmp-" + name), folder = run.checkpoint_dir / name;
        util::check_run_folder();  // before create_directories could recreate a deleted run folder
        fs::remove_all(tmp);
        fs::create_directories(tmp);
        train::save_weights_and_generators(tmp, run.student);
        units_->save_state(tmp);
        const nlohmann::ordered_json state{{"stage", k},
                                           {"step", step},
                                           {"metrics_bytes", run.log.size()},
                                           {"banks", run.banks_delivered()},
                                           {"stages", stages}};
        util::write_file_atomic(tmp / "state.json", state.dump(2) + "\n");
        fs::remove_all(folder);
        fs::rename(tmp, folder);
        std::error_code ec;
        for (size_t j = 0; j < k; ++j) {
            fs::remove_all(run.checkpoint_dir / (stage_name(j) + "-selected"), ec);
            for (const auto& old : train::checkpoints_of(run.checkpoint_dir, stage_name(j))) fs::remove_all(old, ec);
        }
    }

    static void remove_stage_checkpoints(PruningRun& run) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(run.checkpoint_dir, ec))
            if (e.path().filename().string().rfind("stage-", 0) == 0) std::filesystem::remove_all(e.path(), ec);
    }

    // The newest stage checkpoint that reads completely (state, units, model, generators, the
    // bank journal), restored; its state.json. An unusable one is reported by name.
    std::optional<nlohmann::ordered_json> restore_newest_stage(PruningRun& run) {
        namespace fs = std::filesystem;
        std::vector<fs::path> found;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(run.checkpoint_dir, ec)) {
            const std::string n = e.path().filename().string();
            if (n.rfind("stage-", 0) == 0 && n.size() > 9 && n.substr(n.size() - 9) == "-selected")
                found.push_back(e.path());
        }
        std::sort(found.rbegin(), found.rend());
        for (const auto& folder : found) {
            try {
                const fs::path file = folder / "state.json";
                std::ifstream in(file);
                if (!in) throw std::runtime_error(file.string() + " is missing");
                nlohmann::ordered_json state;
                try {
                    state = nlohmann::ordered_json::parse(in);
                    if (!state.at("stage").is_number_integer() || !state.at("step").is_number_integer() ||
                        !state.at("metrics_bytes").is_number_unsigned() || !state.at("banks").is_number_integer() ||
                        !state.at("stages").is_array())
                        throw std::runtime_error("");
                } catch (const std::exception&) {
                    throw std::runtime_error(file.string() +
                                             " is not a stage checkpoint's state (invalid JSON or "
                                             "missing fields)");
                }
                const auto k = state.at("stage").get<int64_t>();
                if (k < 0 || k >= static_cast<int64_t>(stages_.size()))
                    throw std::runtime_error(file.string() + " is for stage " + std::to_string(k) +
                                             ", which the recipe's schedule does not have");
                const auto banks = state.at("banks").get<int64_t>();
                if (const int64_t missing = run.first_missing_bank(banks); missing >= 0)
                    throw std::runtime_error("the bank journal lacks bank " + std::to_string(missing) + " of " +
                                             std::to_string(banks));
                units_->restore_state(folder, static_cast<int>(k));  // reads everything before it changes anything
                try {  // metrics.jsonl is cut back by the stage's retraining (it may have newer checkpoints)
                    train::restore_weights_and_generators(folder, run.student);
                    run.replay_banks(banks);
                } catch (const std::exception& e) {  // the masks are already restored: no going back
                    throw Fatal{folder.string() + ": " + util::error_text(e)};
                }
                spdlog::info("{}: resuming from {} (step {})", stage_name(static_cast<size_t>(k)), folder.string(),
                             state.at("step").get<int64_t>());
                return state;
            } catch (const Fatal& f) {
                throw std::runtime_error("cannot resume from the stage checkpoint " + f.what);
            } catch (const std::exception& e) {
                spdlog::warn("stage checkpoint {} is unusable ({}); trying the one before it", folder.string(),
                             util::error_text(e));
            }
        }
        return std::nullopt;
    }

    struct Fatal {
        std::string what;
    };

    std::vector<cap_stage> stages_;
    std::unique_ptr<StageUnits> units_;
};

}  // namespace

std::unique_ptr<PruningStrategy> make_stage_loop() { return std::make_unique<StageLoop>(); }

}  // namespace cap::run
