// cap run RECIPE | --resume RUN_DIR: validate, make the run folder, run (run/execute.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "recipe/resolve.hpp"
#include "run/execute.hpp"
#include "run/run_dir.hpp"
#include "util/error_text.hpp"
#include "util/run_lock.hpp"
#include "util/stop_request.hpp"

namespace cap::cli {

namespace {

// What --resume may change: how a constraint is enforced, so that a run it stopped can go on.
// Everything else would make the run's earlier part and its rest two different experiments.
const std::vector<std::string> kResumableKeys = {"constraints.on_violation", "criterion.protect_kept_heads_only"};

std::string resumable_keys_text() {
    std::string out;
    for (const auto& k : kResumableKeys) out += (out.empty() ? "" : " and ") + k;
    return out;
}

// The first --set/--unset key that --resume may not change ("--set a.b"), or "".
std::string not_resumable_override(const recipe::Overrides& overrides) {
    auto allowed = [](const std::string& key) {
        return std::find(kResumableKeys.begin(), kResumableKeys.end(), key) != kResumableKeys.end();
    };
    for (const auto& set : overrides.sets) {
        const std::string key = set.substr(0, set.find('='));
        if (!allowed(key)) return "--set " + key;
    }
    for (const auto& key : overrides.unsets)
        if (!allowed(key)) return "--unset " + key;
    return "";
}

// Takes `dir`'s lock into `lock`; the exit status when it cannot (2: another writer holds it).
std::optional<int> lock_run_dir(std::optional<util::RunLock>& lock, const std::filesystem::path& dir) {
    try {
        lock.emplace(dir);
        return std::nullopt;
    } catch (const util::RunFolderBusy& e) {
        spdlog::error("{}", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return kExitFailure;
    }
}

}  // namespace

int cmd_run(const GlobalOptions& global, const RunOptions& options) {
    const bool resume = !options.resume.empty();
    if (resume && (!options.recipe.empty() || !options.out_dir.empty())) {
        spdlog::error("--resume continues a run as it was recorded: give no recipe or --out");
        return kExitUsage;
    }
    if (resume)
        if (std::string bad = not_resumable_override(options.overrides); !bad.empty()) {
            spdlog::error(
                "--resume continues a run as it was recorded: {} cannot change on the way (only {} can, "
                "to continue a run that a constraint stopped)",
                bad, resumable_keys_text());
            return kExitUsage;
        }
    if (!resume && options.recipe.empty()) {
        spdlog::error("give a recipe to run, or --resume RUN_DIR");
        return kExitUsage;
    }
    const std::string recipe_file =
        resume ? (std::filesystem::path(options.resume) / "recipe.toml").string() : options.recipe;
    if (resume && !std::filesystem::exists(recipe_file)) {
        std::error_code ec;
        if (!std::filesystem::exists(options.resume, ec))
            spdlog::error("--resume {}: no such folder", options.resume);
        else if (!std::filesystem::is_directory(options.resume, ec))
            spdlog::error("--resume {}: a file, not a run folder", options.resume);
        else
            spdlog::error("--resume {}: no recipe.toml there (not a run folder?)", options.resume);
        return kExitUsage;
    }
    // One writer per run folder, checked at once (util/run_lock.hpp); held until the run ends.
    std::optional<util::RunLock> lock;
    if (resume) {
        if (auto status = lock_run_dir(lock, options.resume)) return *status;
        if (int n = util::remove_write_leftovers(options.resume))
            spdlog::info("--resume {}: removed {} temporary file(s) a killed write left", options.resume, n);
        if (std::filesystem::exists(std::filesystem::path(options.resume) / "summary.json")) {
            spdlog::info("run {} is finished (summary.json is there): nothing to resume", options.resume);
            return kExitOk;
        }
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
        spdlog::error("{}: {}", options.recipe, util::error_text(e));
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
        spdlog::error("{}", util::error_text(e));
        return kExitFailure;
    }
    if (!lock)
        if (auto status = lock_run_dir(lock, dir)) return *status;
    util::install_stop_handlers();  // SIGTERM/SIGINT/SIGUSR1: checkpoint, then exit 75
    if (run::execute_run(r, dir, resume, options.overrides, options.command_line, options.recipe)) return kExitOk;
    return util::stop_requested() ? util::kExitInterrupted : kExitFailure;
}

}  // namespace cap::cli
