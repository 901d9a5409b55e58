#include "run/execute.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <optional>

#include "plugin/backend_plugin.hpp"
#include "plugin/contrastive_plugin.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/distill_plugin.hpp"
#include "plugin/schedule_plugin.hpp"
#include "prune/structured_selection.hpp"
#include "recipe/serialize.hpp"
#include "run/backend_report.hpp"
#include "run/manifest.hpp"
#include "run/schedule_trace.hpp"
#include "run/training_pipeline.hpp"
#include "util/atomic_file.hpp"
#include "util/error_text.hpp"
#include "util/logging.hpp"
#include "util/stop_request.hpp"

namespace cap::run {

namespace {

std::string gib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f GiB", double(bytes) / (1024.0 * 1024 * 1024));
    return buf;
}

std::string sources_text(uint32_t sources) {
    std::string out;
    if (sources & CAP_CAPTURE_PRETRAINED) out += "pre-trained ";
    if (sources & CAP_CAPTURE_FINETUNED) out += "fine-tuned ";
    if (sources & CAP_CAPTURE_SNAPSHOT) out += "snapshots ";
    return out.empty() ? "none" : out.substr(0, out.size() - 1);
}

void log_backend(const BackendReport& r) {
    spdlog::info("backend {} ({}): {}", r.plugin, r.choice, r.description);
    if (r.context.device.device_type == kDLCPU) spdlog::info("backend: BLAS {}", r.blas.summary());
    spdlog::info("backend: float32 1024^3 matrix products at {:.1f} GFLOP/s; memory {} used of {}, {} free",
                 r.matmul_gflops, gib(r.memory.used), gib(r.memory.total), gib(r.memory.free));
}

// Creates the criterion, contrastive and distillation plugins the recipe names and logs what
// each declares: for recipes that name them without pruning (no [task], or no [criterion] and
// [schedule] together); a pruning run creates and reports them itself.
void exercise_loss_and_criterion_plugins(const recipe::ResolvedRecipe& r) {
    if (r.criterion) {
        host::CriterionPlugin criterion(r.instantiate(*r.criterion));
        auto info = criterion.info();
        spdlog::info("criterion {}: {} granularity, needs{}{}{}{}{}", criterion.instance().label(),
                     info.granularity == CAP_GRANULARITY_STRUCTURED ? "structured" : "unstructured",
                     info.needs & CAP_NEEDS_MASK_GRADS ? " mask-gradients" : "",
                     info.needs & CAP_NEEDS_WEIGHTS ? " weights" : "",
                     info.needs & CAP_NEEDS_WEIGHT_GRADS ? " weight-gradients" : "",
                     info.needs & CAP_NEEDS_SCORES ? " scores" : "", info.needs ? "" : " nothing");
    }
    for (const auto& use : r.contrastive) {
        host::ContrastivePlugin module(r.instantiate(use));
        spdlog::info("[{}] {}: wants banks from {}; {} bytes held", use.section, module.instance().label(),
                     sources_text(module.wants()), module.memory());
    }
    if (r.distill) {
        host::DistillPlugin distill(r.instantiate(*r.distill));
        spdlog::info("distill {}: ready", distill.instance().label());
    }
}

// recipe.toml becomes the changed recipe (what a later --resume reads); manifest.json keeps what
// the run started with and gains a "resumed_with" entry: the overrides, the command and when.
void record_resume_overrides(const recipe::ResolvedRecipe& r, const std::filesystem::path& dir,
                             const recipe::Overrides& overrides, const std::vector<std::string>& command_line) {
    // Everything read before anything is written: a manifest that cannot be read changes nothing.
    const auto file = dir / "manifest.json";
    std::optional<nlohmann::ordered_json> manifest;
    if (std::filesystem::exists(file)) {
        try {
            std::ifstream in(file);
            manifest = nlohmann::ordered_json::parse(in);
        } catch (const std::exception&) {
            throw std::runtime_error(file.string() + " is not valid JSON: cannot record the resumed run's overrides");
        }
        if (!manifest->contains("resumed_with") || !(*manifest)["resumed_with"].is_array())
            (*manifest)["resumed_with"] = nlohmann::ordered_json::array();
        (*manifest)["resumed_with"].push_back(
            {{"utc", utc_now()}, {"command_line", command_line}, {"set", overrides.sets}, {"unset", overrides.unsets}});
    }
    util::write_file_atomic(dir / "recipe.toml", recipe::to_toml(r.tree));
    if (manifest) util::write_file_atomic(file, manifest->dump(2) + "\n");
    std::string changes;
    for (const auto& s : overrides.sets) changes += (changes.empty() ? "" : ", ") + s;
    for (const auto& u : overrides.unsets) changes += (changes.empty() ? "unset " : ", unset ") + u;
    spdlog::warn("resuming with {}: recipe.toml now says so; manifest.json records the change (resumed_with)", changes);
}

}  // namespace

bool execute_run(const recipe::ResolvedRecipe& r, const std::filesystem::path& dir, bool resume,
                 const recipe::Overrides& overrides, const std::vector<std::string>& command_line,
                 const std::string& recipe_label) {
    std::unique_ptr<util::ScopedLogFile> log_file;  // outlives the catch below: errors reach run.log too
    try {
        // recipe.toml first: a folder holding it is a run (a sweep resumes it), one without is not.
        if (!resume) util::write_file_atomic(dir / "recipe.toml", recipe::to_toml(r.tree));
        log_file = std::make_unique<util::ScopedLogFile>(dir / "run.log");
        if (resume)
            spdlog::info("resuming run '{}' in {}", r.run_name, dir.string());
        else
            spdlog::info("run '{}' from {} into {}", r.run_name, recipe_label, dir.string());

        host::BackendPlugin backend(r.instantiate(r.backend));
        const auto report = report_backend(backend, r.backend_choice);
        log_backend(report);

        // --resume --set (a constraint's enforcement only, cli/cmd_run.cpp): the run goes on under
        // the changed recipe, and its files say from when.
        if (resume && !(overrides.sets.empty() && overrides.unsets.empty()))
            record_resume_overrides(r, dir, overrides, command_line);

        // A run killed before its manifest was written gets one when it resumes.
        if (!resume || !std::filesystem::exists(dir / "manifest.json")) {
            const auto manifest = build_manifest(r, overrides, report, command_line);
            util::write_file_atomic(dir / "manifest.json", manifest.dump(2) + "\n");
            spdlog::info("wrote {}", (dir / "manifest.json").string());
        }

        if (!(r.task && r.criterion && r.schedule)) exercise_loss_and_criterion_plugins(r);

        if (r.schedule) {
            host::SchedulePlugin schedule(r.instantiate(*r.schedule));
            const auto& s = r.model.shape;
            spdlog::info(
                "schedule {} on {} ({} layers x {} heads, {} FFN neurons per layer), "
                "min {} heads per layer:",
                schedule.instance().label(), r.model.pretrained, s.num_layers, s.num_heads, s.intermediate_size,
                r.constraints.min_heads_per_layer);
            const int64_t nominal_steps_per_epoch = 100;
            auto trace = trace_schedule(schedule, s, r.constraints, nominal_steps_per_epoch);
            for (const auto& line : trace.lines) spdlog::info("  {}", line);
            util::write_file_atomic(dir / "schedule.json", trace.json.dump(2) + "\n");
            spdlog::info("wrote {} (sampled at a nominal {} steps per epoch)", (dir / "schedule.json").string(),
                         nominal_steps_per_epoch);
        } else {
            spdlog::info("no [schedule] in the recipe: nothing to trace");
        }
        run_training(r, report.context, report.run_precision, dir, resume);
        spdlog::info("run '{}' finished in {}", r.run_name, dir.string());
        return true;
    } catch (const util::Interrupted& stop) {
        spdlog::warn("run '{}' stopped by {} after its checkpoint; cap run --resume {} continues it", r.run_name,
                     stop.signal, dir.string());
        return false;
    } catch (const prune::ConstraintViolation& e) {
        spdlog::error("run '{}' failed: {}", r.run_name, e.what());
        spdlog::error(
            "the run is kept: cap run --resume {} --set constraints.on_violation=warn continues it from its last "
            "checkpoint as the reference would (or --set criterion.protect_kept_heads_only=true, for first_order)",
            dir.string());
        return false;
    } catch (const std::exception& e) {
        spdlog::error("run '{}' failed: {}", r.run_name, util::error_text(e));
        return false;
    }
}

}  // namespace cap::run
