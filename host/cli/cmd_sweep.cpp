// cap sweep RECIPE: expand the recipe's [sweep] into runs, then list them (--dry-run), write a
// Slurm job array (--emit slurm), or run them here one after another (sweep/runner.hpp).
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.hpp"
#include "recipe/serialize.hpp"
#include "run/execute.hpp"
#include "sweep/expand.hpp"
#include "sweep/plan.hpp"
#include "sweep/runner.hpp"
#include "sweep/slurm_script.hpp"
#include "util/atomic_file.hpp"
#include "util/stop_request.hpp"

namespace fs = std::filesystem;

namespace cap::cli {

int cmd_sweep(const GlobalOptions& global, const SweepOptions& options) {
    if (!options.emit.empty() && options.emit != "slurm") {
        spdlog::error("--emit {}: the only target is 'slurm'", options.emit);
        return kExitUsage;
    }
    if (options.dry_run && !options.emit.empty()) {
        spdlog::error("--dry-run lists the runs; --emit writes a script: give one of them");
        return kExitUsage;
    }
    sweep::Expansion expansion;
    try {
        expansion = sweep::expand_sweep(options.recipe, options.overrides);
    } catch (const recipe::RecipeErrors& e) {
        print_diagnostics(e.diagnostics());
        return kExitUsage;
    }
    const fs::path out_dir =
        options.out_dir.empty() ? fs::path("runs") / expansion.spec.name : fs::path(options.out_dir);
    std::vector<size_t> chosen;
    if (!options.cell.empty()) {
        auto index = sweep::find_cell(expansion, options.cell);
        if (!index) {
            spdlog::error("--cell {}: the sweep has runs 0 to {} (by index or name)", options.cell,
                          expansion.cells.size() - 1);
            return kExitUsage;
        }
        chosen.push_back(*index);
    } else {
        for (const auto& c : expansion.cells) chosen.push_back(c.index);
    }

    host::PluginRegistry registry = discover_plugins(global);
    auto plans = sweep::plan_cells(expansion, chosen, out_dir, registry);
    report_registry_problems(registry);

    if (!options.cell_recipe.empty()) {
        if (options.cell.empty()) {
            spdlog::error("--cell-recipe checks the run --cell names: give --cell too");
            return kExitUsage;
        }
        const auto& plan = plans.at(0);
        const std::string now =
            plan.resolved ? sweep::recipe_fingerprint(recipe::to_toml(plan.resolved->tree)) : "(does not resolve)";
        if (now != options.cell_recipe) {
            spdlog::error(
                "run '{}': its recipe changed since the script was emitted (fingerprint {} then, {} now); run "
                "cap sweep {} --emit slurm again, or restore the recipe",
                plan.cell->name, options.cell_recipe, now, options.recipe);
            return kExitUsage;
        }
    }

    if (options.dry_run) {
        sweep::print_listing(expansion, plans, out_dir);
        // The exit status answers "would `cap sweep` start?", so scripts can ask it first.
        if (const size_t stopped = sweep::report_problems(plans)) {
            std::cerr
                << stopped << " of " << plans.size()
                << " runs would not start here (above: why); `cap sweep` refuses to start until every run validates\n";
            return kExitUsage;
        }
        return kExitOk;
    }
    if (sweep::report_problems(plans)) return kExitUsage;

    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) {
        spdlog::error("cannot create {}: {}", out_dir.string(), ec.message());
        return kExitFailure;
    }

    if (options.emit == "slurm") {
        sweep::SlurmRequest request;
        request.cap_executable = fs::canonical("/proc/self/exe");
        request.recipe = fs::absolute(options.recipe).lexically_normal();
        request.out_dir = fs::absolute(out_dir).lexically_normal();
        request.overrides = options.overrides;
        request.working_dir = fs::current_path();
        for (const auto& p : plans)
            request.cells.emplace_back(p.cell->name, sweep::recipe_fingerprint(recipe::to_toml(p.resolved->tree)));
        for (const auto& p : global.plugin_paths) request.plugin_paths.push_back(fs::absolute(p).lexically_normal());
        fs::create_directories(out_dir / "slurm", ec);
        util::write_file_atomic(out_dir / "sweep.sbatch", sweep::slurm_script(expansion, request));
        sweep::write_sweep_json(expansion, plans, out_dir, options.recipe);
        std::cout << "wrote " << (out_dir / "sweep.sbatch").string() << " (" << expansion.cells.size()
                  << " array tasks); submit it with: sbatch " << (out_dir / "sweep.sbatch").string() << "\n";
        return kExitOk;
    }

    sweep::RunnerOptions runner;
    runner.out_dir = out_dir;
    runner.recipe_file = options.recipe;
    runner.single_cell = !options.cell.empty();
    auto execute = [&](const recipe::ResolvedRecipe& r, const fs::path& dir, bool resume) {
        return run::execute_run(r, dir, resume, options.overrides, options.command_line, options.recipe);
    };
    util::install_stop_handlers();
    switch (sweep::run_cells(expansion, plans, runner, execute)) {
        case sweep::SweepOutcome::kAllDone: return kExitOk;
        case sweep::SweepOutcome::kStopped: return util::kExitInterrupted;
        default: return kExitFailure;
    }
}

}  // namespace cap::cli
