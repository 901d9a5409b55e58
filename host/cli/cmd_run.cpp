// cap run RECIPE | --resume RUN_DIR: validate, make the run folder, run (run/execute.hpp).
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "recipe/resolve.hpp"
#include "run/execute.hpp"
#include "run/run_dir.hpp"

namespace cap::cli {

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
    const std::string recipe_file =
        resume ? (std::filesystem::path(options.resume) / "recipe.toml").string() : options.recipe;
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

    std::filesystem::path dir;
    try {
        dir = resume ? std::filesystem::path(options.resume) : run::create_run_dir(options.out_dir, r.run_name);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return kExitFailure;
    }
    return run::execute_run(r, dir, resume, options.overrides, options.command_line, options.recipe) ? kExitOk
                                                                                                     : kExitFailure;
}

}  // namespace cap::cli
