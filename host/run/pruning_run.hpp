// A pruning run: what CAP-f and CAP-m/CAP-soft share, built in one place — the recipe's plugins,
// the student, the frozen teacher's outputs over the training set, the objective, the step
// budget, the contrastive banks and the saved models — and the strategy that drives training:
//   StageLoop     CAP-f (docs/algorithms.md §2): stage after stage, heads and FFN neurons or
//                 single weights ranked by importance (run/stage_units.hpp)
//   StepSchedule  CAP-m, CAP-soft (§3): single weights, a threshold at every step
#pragma once

#include <ATen/Tensor.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/task.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/distill_plugin.hpp"
#include "plugin/schedule_plugin.hpp"
#include "prune/objective.hpp"
#include "prune/training_set_encoding.hpp"
#include "recipe/resolve.hpp"
#include "run/model_source.hpp"
#include "run/precision.hpp"
#include "run/teacher_stage.hpp"
#include "train/fine_tune.hpp"
#include "train/metrics_log.hpp"

namespace cap::run {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

class PruningRun;

class PruningStrategy {
public:
    virtual ~PruningStrategy() = default;
    // Refuses a criterion it cannot drive, before anything is loaded.
    virtual void check_criterion(const host::CriterionPlugin& criterion) const = 0;
    // After the schedule is bound to the student: refuses a schedule it cannot follow and
    // prepares the student (CAP-m freezes the embeddings).
    virtual void prepare(PruningRun& run) = 0;
    // Trains and saves the result; returns the summary's pruning part.
    virtual nlohmann::ordered_json run(PruningRun& run) = 0;
};

std::unique_ptr<PruningStrategy> make_stage_loop();     // run/stage_loop.cpp
std::unique_ptr<PruningStrategy> make_step_schedule();  // run/step_schedule.cpp

struct PruningInputs {
    const recipe::ResolvedRecipe& recipe;
    const data::Task& task;
    Teacher& teacher;
    host::CriterionPlugin& criterion;
    cap_exec_context context;
    RunPrecision precision;
    std::filesystem::path run_dir;
    train::MetricsLog& log;
    bool resume = false;  // `cap run --resume`: continue from the pruning checkpoints
};

class PruningRun {
    // First, so that it is chosen (and the criterion checked) before anything else is built.
    std::unique_ptr<PruningStrategy> strategy_;

public:
    // Picks the strategy from the criterion (score-based: StepSchedule), creates the plugins,
    // loads the student, binds the schedule and encodes the training set with the teacher.
    explicit PruningRun(const PruningInputs& inputs);
    // The objective points into the run's own members (modules, teacher outputs, distiller).
    PruningRun(const PruningRun&) = delete;
    PruningRun& operator=(const PruningRun&) = delete;
    nlohmann::ordered_json run() { return strategy_->run(*this); }

    // What the strategies share.
    const recipe::ResolvedRecipe& recipe;
    const data::Task& task;
    Teacher& teacher;
    host::CriterionPlugin& criterion;
    const cap_exec_context context;
    const at::Device device;
    const RunPrecision precision;
    const std::filesystem::path run_dir;
    const std::filesystem::path checkpoint_dir;  // run_dir/checkpoints
    train::MetricsLog& log;
    const bool resume;
    const settings::FineTuneSettings& train;  // the recipe's [prune] training settings
    const model::Pooling pooling;             // what the contrastive modules compare

    host::SchedulePlugin schedule;
    std::optional<host::DistillPlugin> distill;
    std::vector<prune::ContrastiveModule> modules;
    ModelSource source;  // the student as loaded (vocabulary, config.json keys)
    model::Bert student{nullptr};
    prune::TrainingSetEncoding teacher_outputs;  // logits for distillation, FiC's representations
    int64_t steps_per_epoch = 0;
    std::optional<prune::Objective> objective;

    bool anyone_wants(uint32_t source) const;
    // Hands one capture to every module that asked for its source; each gets its own DLPack
    // handle on the same storage, so sharing costs no copy. The capture is also kept in the
    // bank journal (checkpoints/banks/) so that a resumed run hands the modules the same banks
    // without re-encoding models it no longer has: a bank is examples x hidden floats, less than
    // the model that would rebuild it. The fine-tuned model's bank is re-read from the teacher.
    void deliver_bank(uint32_t source, int32_t snapshot, int64_t step, double sparsity,
                      const at::Tensor& representations, const at::Tensor& labels);
    int64_t banks_delivered() const { return banks_delivered_; }
    int64_t banks_delivered(uint32_t source) const;
    // A resumed run: delivers the journal's first `count` banks again, in their order, and
    // forgets the later ones (written after the checkpoint being resumed).
    void replay_banks(int64_t count);
    // The first bank the journal lacks among the first `count` (-1: it holds them all).
    int64_t first_missing_bank(int64_t count) const;
    // Pruning checkpoints and the bank journal, once the run's result and summary are saved.
    void remove_checkpoints() const;
    // The size metrics.jsonl had when pruning first began (kept in checkpoints/pruning-start.json):
    // a resumed run that finds no usable pruning checkpoint cuts the log back to it.
    uint64_t metrics_bytes_at_start() const { return metrics_bytes_at_start_; }
    // The student's representations of the whole training set under `masks`.
    prune::TrainingSetEncoding encode_student(const model::ForwardOptions& masks, bool train_mode);
    // A training stage of the student, with its device, checkpoints folder and seed filled in.
    train::StageContext stage_context(const std::string& name);
    // "criterion/x, schedule/y, ...": the parts, for the log.
    std::string parts() const;
    data::EvalOptions eval_options() const;
    // event["bank_bytes"][module] = the bytes its banks hold (nothing without modules).
    void add_bank_bytes(nlohmann::ordered_json& event) const;

private:
    void hand_to_modules(uint32_t source, int32_t snapshot, int64_t step, double sparsity,
                         const at::Tensor& representations, const at::Tensor& labels);
    int64_t banks_delivered_ = 0;
    uint64_t metrics_bytes_at_start_ = 0;
    std::vector<uint32_t> bank_sources_;  // of each bank delivered, in order
};

}  // namespace cap::run
