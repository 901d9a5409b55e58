#include "run/unstructured_pruning.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>

#include "cap/plugin_torch.hpp"
#include "model/safetensors.hpp"
#include "plugin/host_services.hpp"
#include "plugin/schedule_plugin.hpp"
#include "prune/objective.hpp"
#include "prune/remaining_weights.hpp"
#include "prune/score_masks.hpp"
#include "run/pruning_parts.hpp"
#include "run/schedule_trace.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::run {

namespace {

void freeze_embeddings(model::Bert& model) {
    for (auto& p : model->named_parameters())
        if (p.key().rfind("bert.embeddings.", 0) == 0) p.value().set_requires_grad(false);
}

// The masks, as 0/1 bytes named after the weights they multiply; the scores when learned.
void save_masks(const prune::ScoreMasks& masks, const fs::path& run_dir) {
    std::vector<std::pair<std::string, at::Tensor>> bits, scores;
    for (const auto& s : masks.masks().slots()) {
        bits.emplace_back(s.name + ".weight", s.mask.to(at::kCPU, at::kByte));
        if (s.scores.defined()) scores.emplace_back(s.name + ".weight", s.scores.detach().to(at::kCPU));
    }
    model::write_safetensors(run_dir / "masks.safetensors", bits, {{"content", "1 = kept, 0 = pruned"}});
    if (!scores.empty()) model::write_safetensors(run_dir / "scores.safetensors", scores);
}

}  // namespace

nlohmann::ordered_json run_unstructured_pruning(const recipe::ResolvedRecipe& r, const data::Task& task,
                                                Teacher& teacher, host::CriterionPlugin& criterion,
                                                const cap_exec_context& context, const fs::path& run_dir,
                                                train::MetricsLog& log) {
    const at::Device device = cap::to_device(context.device);
    if (!criterion.score_based())
        throw std::logic_error("run_unstructured_pruning: " + criterion.instance().label() + " is importance-based");
    if (criterion.info().granularity != CAP_GRANULARITY_UNSTRUCTURED)
        throw std::runtime_error(criterion.instance().label() +
                                 " is score-based but structured; cap trains scores for single weights only");
    host::SchedulePlugin schedule(instantiate(*r.schedule));
    std::optional<host::DistillPlugin> distill;
    if (r.distill) distill.emplace(instantiate(*r.distill));
    auto modules = make_contrastive_modules(r);

    ModelSource source = load_student(r, task, device);
    model::Bert student = source.model;
    schedule.bind(shape_of(student), r.constraints);
    if (schedule.num_stages() > 0)
        throw std::runtime_error(schedule.instance().label() + " prunes in stages; " + criterion.instance().label() +
                                 " needs a per-step threshold (e.g. the cubic schedule)");
    if (r.prune.freeze_embeddings) freeze_embeddings(student);

    const model::Pooling pooling = r.prune.representation == "mean" ? model::Pooling::kMean : model::Pooling::kCls;
    const auto& s = r.prune.train;
    const bool fic = anyone_wants(modules, CAP_CAPTURE_FINETUNED);
    prune::TrainingSetEncoding teacher_out = encode_teacher(teacher.model, task, fic ? pooling : model::Pooling::kNone,
                                                            distill.has_value(), s.eval_batch_size, device);

    const auto n = static_cast<int64_t>(task.train_size());
    const int64_t steps_per_epoch = (n + s.batch_size - 1) / s.batch_size;
    const int64_t total_steps = std::max<int64_t>(1, std::llround(std::ceil(s.epochs * double(steps_per_epoch))));
    auto progress = [&](int64_t step) { return run::progress_at(step, total_steps, steps_per_epoch); };
    cap_schedule_point final_point = schedule.at(progress(total_steps));
    final_point.final_target = final_point.target;
    auto point_at = [&](int64_t step) {
        cap_schedule_point p = schedule.at(progress(step));
        p.final_target = final_point.target;
        return p;
    };

    prune::ScoreMasks masks(student, criterion, context);
    model::ForwardOptions forward;
    forward.weights = masks.transform();
    prune::Objective objective(task, r.prune.ce_weight, pooling, distill ? &*distill : nullptr, modules,
                               distill ? &teacher_out : nullptr, context);
    auto encode = [&](bool train_mode) {
        prune::EncodingRequest req;
        req.masks = forward;
        req.pooling = pooling;
        req.batch_size = s.eval_batch_size;
        req.device = device;
        req.train_mode = train_mode;
        return prune::encode_training_set(student, task, req);
    };

    // Banks before training: the pre-trained student as the first step sees it, and the teacher.
    masks.binarize(point_at(0), progress(0));
    if (anyone_wants(modules, CAP_CAPTURE_PRETRAINED)) {
        auto enc = encode(false);
        deliver_bank(modules, CAP_CAPTURE_PRETRAINED, -1, 0, 1.0 - masks.masks().kept_fraction(), enc.representations,
                     enc.labels, context);
    }
    if (fic)
        deliver_bank(modules, CAP_CAPTURE_FINETUNED, -1, 0, 0.0, teacher_out.representations, teacher_out.labels,
                     context);

    std::string parts = criterion.instance().label() + ", " + schedule.instance().label();
    if (distill) parts += ", " + distill->instance().label();
    for (const auto& m : modules) parts += ", " + m.plugin->instance().label();
    spdlog::info("pruning {} weight by weight: {} epochs, {} steps of batch {}, final threshold {} ({})", task.name(),
                 s.epochs, total_steps, s.batch_size, final_point.target, parts);

    const bool regularized = masks.has_scores() && criterion.has_regularizer();
    cap_schedule_point current = point_at(0);
    int snapshots = 0;
    train::StageContext ctx{task, student, device, run_dir / "checkpoints", log, "prune", r.seed, false, {}, {}};
    ctx.checkpoints = false;
    ctx.eval_forward = forward;
    if (masks.has_scores()) {
        const double lr = criterion.info().scores_learning_rate;
        ctx.extra_groups.push_back({"mask_scores", masks.scores(), lr > 0 && s.learning_rate > 0 ? lr / s.learning_rate : 1.0});
    }
    ctx.step_loss = [&](const data::Batch& batch, int64_t step) {
        current = point_at(step);
        const cap_progress p = progress(step);
        masks.binarize(current, p);
        train::StepLoss out = objective.compute(student, batch, forward, p);
        if (regularized) {
            const double penalty = masks.regularizer(current, p);
            out.value += penalty;
            out.terms.emplace_back("regularizer", penalty);
        }
        out.terms.emplace_back("threshold", current.target);
        return out;
    };
    ctx.after_backward = [&](int64_t step) { masks.finish_gradients(current, progress(step)); };
    ctx.on_epoch_start = [&](int64_t epoch, int64_t step) {
        if (epoch < 1 || !anyone_wants(modules, CAP_CAPTURE_SNAPSHOT)) return;
        const auto start = Clock::now();
        masks.binarize(point_at(step), progress(step));
        auto enc = encode(true);
        deliver_bank(modules, CAP_CAPTURE_SNAPSHOT, snapshots++, step, 1.0 - masks.masks().kept_fraction(),
                     enc.representations, enc.labels, context);
        spdlog::info("epoch {}: snapshot {} at threshold {:.4g} encoded in {:.1f} s", epoch + 1, snapshots,
                     point_at(step).target, seconds_since(start));
    };
    ctx.before_eval = [&]() {
        masks.binarize(final_point, progress(total_steps));
        const auto counts = prune::count_remaining(student, masks.masks());
        return nlohmann::ordered_json{{"threshold", final_point.target}, {"remaining_weights", counts.percent()}};
    };
    const auto start = Clock::now();
    auto metrics = train::fine_tune(ctx, s);

    // The result at the final threshold: accounting, masks, and the weights zeroed for export.
    masks.binarize(final_point, progress(total_steps));
    const auto counts = prune::count_remaining(student, masks.masks());
    util::write_file_atomic(run_dir / "remaining_weights.csv", prune::remaining_weights_csv(counts));
    for (const auto& line : prune::remaining_weights_lines(counts)) spdlog::info("{}", line);
    save_masks(masks, run_dir);
    {
        torch::NoGradGuard no_grad;
        for (const auto& slot : masks.masks().slots()) student->linear_weight(slot.layer, slot.which).mul_(slot.mask);
    }
    save_model_folder(student, run_dir / "final", source);
    data::EvalOptions eval;
    eval.batch_size = s.eval_batch_size;
    eval.device = device;
    auto final_metrics = task.evaluate(student, eval).metrics;
    nlohmann::ordered_json e{{"event", "final"},
                             {"model", (run_dir / "final").string()},
                             {"threshold", final_point.target},
                             {"remaining_weights", counts.percent()},
                             {"masked_weights_kept", counts.masked_kept()},
                             {"masked_weights", counts.masked_total()},
                             {"seconds", seconds_since(start)}};
    for (auto& [key, value] : final_metrics.items()) e[key] = value;
    for (const auto& m : modules) e["bank_bytes"][m.name] = m.plugin->memory();
    log.write(e);
    spdlog::info("model with pruned weights zeroed saved to {} ({:.2f}% of encoder weights remain): {}",
                 (run_dir / "final").string(), counts.percent(), final_metrics.dump());
    nlohmann::ordered_json summary;
    summary["training"] = metrics;
    summary["final"] = e;
    return summary;
}

}  // namespace cap::run
