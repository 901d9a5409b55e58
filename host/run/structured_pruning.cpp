#include "run/structured_pruning.hpp"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/DLConvertor.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "cap/plugin_torch.hpp"
#include "model/checkpoint.hpp"
#include "model/compaction.hpp"
#include "plugin/host_services.hpp"
#include "plugin/schedule_plugin.hpp"
#include "prune/objective.hpp"
#include "prune/stage_record.hpp"
#include "prune/structured_selection.hpp"
#include "run/model_source.hpp"
#include "run/pruning_parts.hpp"
#include "run/schedule_trace.hpp"

namespace fs = std::filesystem;

namespace cap::run {

nlohmann::ordered_json run_structured_pruning(const recipe::ResolvedRecipe& r, const data::Task& task, Teacher& teacher,
                                              host::CriterionPlugin& criterion, const cap_exec_context& context,
                                              const fs::path& run_dir, train::MetricsLog& log) {
    const at::Device device = cap::to_device(context.device);
    if (criterion.score_based())
        throw std::logic_error("run_structured_pruning: " + criterion.instance().label() + " is score-based");
    if (criterion.info().granularity != CAP_GRANULARITY_STRUCTURED)
        throw std::runtime_error(criterion.instance().label() +
                                 " ranks single weights at pruning events; cap prunes weights only with score-based "
                                 "criteria (movement, soft_movement, magnitude) and a per-step schedule (cubic)");
    host::SchedulePlugin schedule(instantiate(*r.schedule));
    std::optional<host::DistillPlugin> distill;
    if (r.distill) distill.emplace(instantiate(*r.distill));
    auto modules = make_contrastive_modules(r);

    ModelSource source = load_student(r, task, device);
    model::Bert student = source.model;
    const auto& config = student->config();
    schedule.bind(shape_of(student), r.constraints);
    const auto stages = schedule.stages();
    if (stages.empty())
        throw std::runtime_error(schedule.instance().label() + " has no stages (a continuous schedule); "
                                 "structured pruning needs an iterative plan");

    const model::Pooling pooling = r.prune.representation == "mean" ? model::Pooling::kMean : model::Pooling::kCls;
    const auto& s = r.prune.train;

    // The teacher is frozen: its logits and representations are computed once, here.
    const bool fic = anyone_wants(modules, CAP_CAPTURE_FINETUNED);
    prune::TrainingSetEncoding teacher_out = encode_teacher(teacher.model, task, fic ? pooling : model::Pooling::kNone,
                                                            distill.has_value(), s.eval_batch_size, device);

    const auto n = static_cast<int64_t>(task.train_size());
    const int64_t steps_per_epoch = (n + s.batch_size - 1) / s.batch_size;
    std::vector<int64_t> stage_steps;
    int64_t total_steps = 0;
    for (const auto& st : stages) {
        stage_steps.push_back(std::max<int64_t>(1, std::llround(std::ceil(st.retrain_epochs * double(steps_per_epoch)))));
        total_steps += stage_steps.back();
    }
    auto progress_at = [&](int64_t at) { return run::progress_at(at, total_steps, steps_per_epoch); };

    prune::Objective objective(task, r.prune.ce_weight, pooling, distill ? &*distill : nullptr, modules,
                               distill ? &teacher_out : nullptr, context);
    prune::StructuredMasks masks{at::ones({config.num_hidden_layers, config.num_attention_heads}, at::device(device)),
                                 at::ones({config.num_hidden_layers, config.intermediate_size}, at::device(device))};
    const int64_t all_heads = masks.heads.numel(), all_neurons = masks.ffn.numel();
    prune::StageRecord record(run_dir);
    prune::ImportancePass pass{r.prune.importance_subset, r.prune.importance_batch_size, device};
    std::string parts = criterion.instance().label() + ", " + schedule.instance().label();
    if (distill) parts += ", " + distill->instance().label();
    for (const auto& m : modules) parts += ", " + m.plugin->instance().label();
    spdlog::info("pruning {} in {} stages, {} steps of batch {} in all ({})", task.name(), stages.size(), total_steps,
                 s.batch_size, parts);

    nlohmann::ordered_json summary;
    summary["stages"] = nlohmann::ordered_json::array();
    int64_t step = 0;
    for (size_t k = 0; k < stages.size(); ++k) {
        const cap_stage& st = stages[k];
        const std::string name = fmt::format("stage-{:02d}", k);
        const auto stage_start = Clock::now();

        cap_selection selection{};
        selection.struct_size = sizeof(selection);
        selection.heads_to_prune = st.heads_to_prune;
        selection.ffn_to_prune = st.ffn_to_prune;
        selection.keep_fraction = 1.0 - st.target_sparsity;
        selection.constraints = &r.constraints;
        auto chosen = prune::select_structured(student, task, criterion, objective, masks, selection, pass, context,
                                               progress_at(step));
        record.add(static_cast<int>(k), chosen.importance.heads, chosen.importance.ffn, chosen.masks.heads,
                   chosen.masks.ffn);
        spdlog::info("{}: importance pass and selection in {:.1f} s", name, seconds_since(stage_start));

        // Banks: the model as it stands before this stage's pruning (the pre-trained model at
        // stage 0, the previous stage's result after), and the teacher's once.
        const uint32_t capture = k == 0 ? CAP_CAPTURE_PRETRAINED : CAP_CAPTURE_SNAPSHOT;
        if (anyone_wants(modules, capture)) {
            prune::EncodingRequest req;
            req.masks = masks.forward();
            req.pooling = pooling;
            req.batch_size = s.eval_batch_size;
            req.device = device;
            auto enc = prune::encode_training_set(student, task, req);
            const double sparsity = double(masks.pruned_heads() + masks.pruned_neurons()) / double(all_heads + all_neurons);
            deliver_bank(modules, capture, k == 0 ? -1 : static_cast<int32_t>(k - 1), step, sparsity,
                         enc.representations, enc.labels, context);
        }
        if (k == 0 && fic)
            deliver_bank(modules, CAP_CAPTURE_FINETUNED, -1, step, 0.0, teacher_out.representations, teacher_out.labels,
                         context);

        masks = chosen.masks;
        train::FineTuneSettings settings = s;
        settings.epochs = st.retrain_epochs;
        train::StageContext ctx{task, student, device, run_dir / "checkpoints", log, name, r.seed, false, {}, {}};
        ctx.step_loss = [&](const data::Batch& batch, int64_t at) {
            return objective.compute(student, batch, masks.forward(), progress_at(at));
        };
        ctx.eval_forward = masks.forward();
        ctx.step_offset = step;
        ctx.checkpoints = false;
        ctx.event_fields = {{"target_sparsity", st.target_sparsity}};
        auto metrics = train::fine_tune(ctx, settings);
        step += stage_steps[k];

        nlohmann::ordered_json e{{"event", "stage"},
                                 {"stage", name},
                                 {"step", step},
                                 {"target_sparsity", st.target_sparsity},
                                 {"heads_kept", all_heads - masks.pruned_heads()},
                                 {"ffn_neurons_kept", all_neurons - masks.pruned_neurons()},
                                 {"seconds", seconds_since(stage_start)}};
        for (auto& [key, value] : metrics.items()) e[key] = value;
        for (const auto& m : modules) e["bank_bytes"][m.name] = m.plugin->memory();
        log.write(e);
        summary["stages"].push_back(e);
        spdlog::info("{} done: {:.0f}% pruned, {} heads and {} FFN neurons kept: {}", name, st.target_sparsity * 100,
                     e["heads_kept"].get<int64_t>(), e["ffn_neurons_kept"].get<int64_t>(), metrics.dump());
    }

    // The result, compacted; its evaluation checks that compaction changed nothing.
    model::Bert compact = model::compact(student, masks.heads, masks.ffn);
    save_model_folder(compact, run_dir / "final", source);
    data::EvalOptions eval;
    eval.batch_size = s.eval_batch_size;
    eval.device = device;
    auto final_metrics = task.evaluate(compact, eval).metrics;
    nlohmann::ordered_json e{{"event", "final"}, {"model", (run_dir / "final").string()},
                             {"parameters", [&] {
                                  int64_t count = 0;
                                  for (const auto& p : compact->parameters()) count += p.numel();
                                  return count;
                              }()}};
    for (auto& [key, value] : final_metrics.items()) e[key] = value;
    log.write(e);
    spdlog::info("compacted model saved to {}: {}", (run_dir / "final").string(), final_metrics.dump());
    if (r.prune.save_masked) {
        model::zero_pruned_weights(student, masks.heads, masks.ffn);
        save_model_folder(student, run_dir / "final-masked", source);
        spdlog::info("dense model with pruned weights zeroed saved to {}", (run_dir / "final-masked").string());
    }
    summary["final"] = e;
    return summary;
}

}  // namespace cap::run
