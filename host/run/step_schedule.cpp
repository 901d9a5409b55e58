// CAP-m's and CAP-soft's strategy (docs/algorithms.md §3): one training run of [prune] epochs
// in which, at every step, the schedule gives a threshold and the criterion binarizes its
// scores (or the weights) into one mask per encoder linear; scores train in their own optimizer
// group. PrC and FiC banks are captured before training, an SnC snapshot at the start of every
// epoch from the second on (in train mode, as the reference). Evaluation binarizes at the final
// threshold. The result is final/: a plain Hugging Face checkpoint with the pruned weights
// zeroed, with masks.safetensors (and scores.safetensors) and remaining_weights.csv beside it
// (run/weight_result.hpp).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <cmath>

#include "prune/remaining_weights.hpp"
#include "prune/score_masks.hpp"
#include "run/pruning_run.hpp"
#include "run/schedule_trace.hpp"
#include "run/weight_result.hpp"

namespace cap::run {

namespace {

// The scores' learning rate as a multiple of the model's (their AdamW group's scale). A 1.2
// criterion's rate is literal (0 freezes the scores); before 1.2, 0 meant the model's rate.
double scores_lr_scale(const host::CriterionPlugin& criterion, double model_lr) {
    const auto& info = criterion.info();
    const double lr = info.scores_learning_rate;
    if (!info.scores_learning_rate_literal && lr == 0) return 1.0;
    if (lr == 0) {
        spdlog::info("{}: scores_learning_rate = 0, the scores stay as initialised", criterion.instance().label());
        return 0.0;
    }
    if (!(model_lr > 0))
        throw std::runtime_error(criterion.instance().label() + ": scores_learning_rate = " + std::to_string(lr) +
                                 " needs a model learning rate above 0 ([prune] learning_rate), which the scores' "
                                 "rate is set against");
    return lr / model_lr;
}

class StepSchedule : public PruningStrategy {
public:
    void check_criterion(const host::CriterionPlugin& criterion) const override {
        if (criterion.info().granularity != CAP_GRANULARITY_UNSTRUCTURED)
            throw std::runtime_error(criterion.instance().label() +
                                     " is score-based but structured; cap trains scores for single weights only");
    }

    void prepare(PruningRun& run) override {
        if (run.schedule.num_stages() > 0)
            throw std::runtime_error(run.schedule.instance().label() + " prunes in stages; " +
                                     run.criterion.instance().label() +
                                     " needs a per-step threshold (e.g. the cubic schedule)");
        if (run.recipe.prune.freeze_embeddings) freeze_embeddings(run.student);
    }

    nlohmann::ordered_json run(PruningRun& run) override {
        const auto& s = run.train;
        const int64_t steps_per_epoch = run.steps_per_epoch;
        total_steps_ = std::max<int64_t>(1, std::llround(std::ceil(s.epochs * double(steps_per_epoch))));
        auto progress = [&](int64_t step) { return run::progress_at(step, total_steps_, steps_per_epoch); };
        final_point_ = run.schedule.at(progress(total_steps_));
        final_point_.final_target = final_point_.target;
        auto point_at = [&](int64_t step) {
            cap_schedule_point p = run.schedule.at(progress(step));
            p.final_target = final_point_.target;
            return p;
        };

        prune::ScoreMasks masks(run.student, run.criterion, run.context);
        model::ForwardOptions forward;
        forward.weights = masks.transform();

        spdlog::info("pruning {} weight by weight: {} epochs, {} steps of batch {}, final threshold {} ({})",
                     run.task.name(), s.epochs, total_steps_, s.batch_size, final_point_.target, run.parts());

        const bool regularized = masks.has_scores() && run.criterion.has_regularizer();
        cap_schedule_point current = point_at(0);
        int snapshots = 0;
        train::StageContext ctx = run.stage_context("prune");
        ctx.resume = run.resume;
        ctx.metrics_bytes_at_start = run.metrics_bytes_at_start();
        ctx.eval_forward = forward;
        if (masks.has_scores()) {
            ctx.extra_groups.push_back(
                {"mask_scores", masks.scores(), scores_lr_scale(run.criterion, s.learning_rate)});
        }
        ctx.step_loss = [&](const data::Batch& batch, int64_t step) {
            current = point_at(step);
            const cap_progress p = progress(step);
            masks.binarize(current, p);
            train::StepLoss out = run.objective->compute(run.student, batch, forward, p);
            if (regularized) {
                const double penalty = masks.regularizer(current, p);
                out.value += penalty;
                out.terms.emplace_back("regularizer", penalty);
            }
            out.terms.emplace_back("threshold", current.target);
            return out;
        };
        ctx.after_backward = [&](int64_t step) { masks.finish_gradients(current, progress(step)); };
        // Banks. Before the first step: the pre-trained student as that step sees it, and the
        // teacher; a snapshot at the start of every later epoch. A resumed run gets those its
        // checkpoint had seen from the journal instead.
        ctx.checkpoint_fields = [&]() { return nlohmann::ordered_json{{"banks", run.banks_delivered()}}; };
        ctx.on_restore = [&](const nlohmann::ordered_json& fields) {
            run.replay_banks(fields.at("banks").get<int64_t>());
            snapshots = static_cast<int>(run.banks_delivered(CAP_CAPTURE_SNAPSHOT));
        };
        ctx.on_epoch_start = [&](int64_t epoch, int64_t step) {
            if (epoch == 0) {
                masks.binarize(point_at(0), progress(0));
                masks.check("before the first step");
                if (run.anyone_wants(CAP_CAPTURE_PRETRAINED)) {
                    auto enc = run.encode_student(forward, false);
                    run.deliver_bank(CAP_CAPTURE_PRETRAINED, -1, 0, 1.0 - masks.masks().kept_fraction(),
                                     enc.representations, enc.labels);
                }
                if (run.anyone_wants(CAP_CAPTURE_FINETUNED))
                    run.deliver_bank(CAP_CAPTURE_FINETUNED, -1, 0, 0.0, run.teacher_outputs.representations,
                                     run.teacher_outputs.labels);
                return;
            }
            if (!run.anyone_wants(CAP_CAPTURE_SNAPSHOT)) return;
            const auto start = Clock::now();
            masks.binarize(point_at(step), progress(step));
            masks.check("at step " + std::to_string(step));
            auto enc = run.encode_student(forward, true);
            run.deliver_bank(CAP_CAPTURE_SNAPSHOT, snapshots++, step, 1.0 - masks.masks().kept_fraction(),
                             enc.representations, enc.labels);
            spdlog::info("epoch {}: snapshot {} at threshold {:.4g} encoded in {:.1f} s", epoch + 1, snapshots,
                         point_at(step).target, seconds_since(start));
        };
        ctx.before_eval = [&]() {
            masks.binarize(final_point_, progress(total_steps_));
            masks.check("at an evaluation");
            const auto counts = prune::count_remaining(run.student, masks.masks());
            return nlohmann::ordered_json{{"threshold", final_point_.target}, {"remaining_weights", counts.percent()}};
        };
        const auto start = Clock::now();
        auto metrics = train::fine_tune(ctx, s);

        masks.binarize(final_point_, progress(total_steps_));
        masks.check("at the final threshold");
        nlohmann::ordered_json summary;
        summary["training"] = metrics;
        summary["final"] = save_result(run, masks, start);
        return summary;
    }

private:
    // The result at the final threshold: accounting, masks, and the weights zeroed for export.
    nlohmann::ordered_json save_result(PruningRun& run, const prune::ScoreMasks& masks, Clock::time_point start) {
        return save_weight_result(run, masks.masks(),
                                  {{"threshold", final_point_.target}, {"seconds", seconds_since(start)}});
    }

    int64_t total_steps_ = 0;
    cap_schedule_point final_point_{};
};

}  // namespace

std::unique_ptr<PruningStrategy> make_step_schedule() { return std::make_unique<StepSchedule>(); }

}  // namespace cap::run
