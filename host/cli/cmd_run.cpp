#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "plugin/backend_plugin.hpp"
#include "plugin/contrastive_plugin.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/distill_plugin.hpp"
#include "plugin/schedule_plugin.hpp"
#include "recipe/resolve.hpp"
#include "run/backend_report.hpp"
#include "run/manifest.hpp"
#include "run/run_dir.hpp"
#include "run/schedule_trace.hpp"
#include "run/training_pipeline.hpp"
#include "recipe/serialize.hpp"
#include "util/atomic_file.hpp"
#include "util/logging.hpp"

namespace cap::cli {

namespace {

using host::PluginInstance;

std::unique_ptr<PluginInstance> instantiate(const recipe::PluginUse& use) {
    return std::make_unique<PluginInstance>(use.plugin, use.values);
}

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

void log_backend(const run::BackendReport& r) {
    spdlog::info("backend {} ({}): {}", r.plugin, r.choice, r.description);
    spdlog::info("backend: float32 1024^3 matrix products at {:.1f} GFLOP/s; memory {} used of {}, {} free",
                 r.matmul_gflops, gib(r.memory.used), gib(r.memory.total), gib(r.memory.free));
}

// Creates the criterion, contrastive and distillation plugins the recipe names and logs what
// each declares: for recipes that name them without pruning (no [task], or no [criterion] and
// [schedule] together); a pruning run creates and reports them itself.
void exercise_loss_and_criterion_plugins(const recipe::ResolvedRecipe& r) {
    if (r.criterion) {
        host::CriterionPlugin criterion(instantiate(*r.criterion));
        auto info = criterion.info();
        spdlog::info("criterion {}: {} granularity, needs{}{}{}{}{}", criterion.instance().label(),
                     info.granularity == CAP_GRANULARITY_STRUCTURED ? "structured" : "unstructured",
                     info.needs & CAP_NEEDS_MASK_GRADS ? " mask-gradients" : "",
                     info.needs & CAP_NEEDS_WEIGHTS ? " weights" : "",
                     info.needs & CAP_NEEDS_WEIGHT_GRADS ? " weight-gradients" : "",
                     info.needs & CAP_NEEDS_SCORES ? " scores" : "", info.needs ? "" : " nothing");
    }
    for (const auto& use : r.contrastive) {
        host::ContrastivePlugin module(instantiate(use));
        spdlog::info("[{}] {}: wants banks from {}; {} bytes held", use.section, module.instance().label(),
                     sources_text(module.wants()), module.memory());
    }
    if (r.distill) {
        host::DistillPlugin distill(instantiate(*r.distill));
        spdlog::info("distill {}: ready", distill.instance().label());
    }
}

}  // namespace

int execute_run(const recipe::ResolvedRecipe& r, const std::filesystem::path& dir, bool resume,
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

        host::BackendPlugin backend(instantiate(r.backend));
        const auto report = run::report_backend(backend, r.backend_choice);
        log_backend(report);

        // A run killed before its manifest was written gets one when it resumes.
        if (!resume || !std::filesystem::exists(dir / "manifest.json")) {
            const auto manifest = run::build_manifest(r, overrides, report, command_line);
            util::write_file_atomic(dir / "manifest.json", manifest.dump(2) + "\n");
            spdlog::info("wrote {}", (dir / "manifest.json").string());
        }

        if (!(r.task && r.criterion && r.schedule)) exercise_loss_and_criterion_plugins(r);

        if (r.schedule) {
            host::SchedulePlugin schedule(instantiate(*r.schedule));
            const auto& s = r.model.shape;
            spdlog::info("schedule {} on {} ({} layers x {} heads, {} FFN neurons per layer), "
                         "min {} heads per layer:",
                         schedule.instance().label(), r.model.pretrained, s.num_layers, s.num_heads,
                         s.intermediate_size, r.constraints.min_heads_per_layer);
            const int64_t nominal_steps_per_epoch = 100;
            auto trace = run::trace_schedule(schedule, s, r.constraints, nominal_steps_per_epoch);
            for (const auto& line : trace.lines) spdlog::info("  {}", line);
            util::write_file_atomic(dir / "schedule.json", trace.json.dump(2) + "\n");
            spdlog::info("wrote {} (sampled at a nominal {} steps per epoch)", (dir / "schedule.json").string(),
                         nominal_steps_per_epoch);
        } else {
            spdlog::info("no [schedule] in the recipe: nothing to trace");
        }
        run::run_training(r, report.context, dir, resume);
        spdlog::info("run '{}' finished in {}", r.run_name, dir.string());
        return kExitOk;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return kExitFailure;
    }
}

int cmd_run(const GlobalOptions& global, const RunOptions& options) {
    const bool resume = !options.resume.empty();
    if (resume && (!options.recipe.empty() || !options.out_dir.empty() || !options.overrides.sets.empty() ||
                   !options.overrides.unsets.empty())) {
        spdlog::error("--resume continues a run as it was recorded: give no recipe, --out, --set or --unset");
        return kExitUsage;
    }
    if (!resume && options.recipe.empty()) {
        spdlog::error("give a recipe to run, or --resume RUN_DIR");
        return kExitUsage;
    }
    const std::string recipe_file = resume ? (std::filesystem::path(options.resume) / "recipe.toml").string() : options.recipe;
    if (resume && !std::filesystem::exists(recipe_file)) {
        spdlog::error("--resume {}: no recipe.toml there (not a run folder?)", options.resume);
        return kExitUsage;
    }
    host::PluginRegistry registry = discover_plugins(global);
    recipe::ResolvedRecipe r;
    try {
        r = recipe::resolve_recipe(recipe_file, options.overrides, registry);
    } catch (const recipe::RecipeErrors& e) {
        print_diagnostics(e.diagnostics());
        report_registry_problems(registry);
        return kExitUsage;
    } catch (const std::exception& e) {
        spdlog::error("{}: {}", options.recipe, e.what());
        return kExitUsage;
    }
    if (std::string problem = resume ? "" : run::check_run_dir(options.out_dir); !problem.empty()) {
        spdlog::error("{}", problem);
        return kExitUsage;
    }
    report_registry_problems(registry);
    host::set_run_seed(r.seed);

    std::filesystem::path dir;
    try {
        dir = resume ? std::filesystem::path(options.resume) : run::create_run_dir(options.out_dir, r.run_name);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return kExitFailure;
    }
    return execute_run(r, dir, resume, options.overrides, options.command_line, options.recipe);
}

}  // namespace cap::cli
