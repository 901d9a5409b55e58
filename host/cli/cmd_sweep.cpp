// cap sweep RECIPE: expand the recipe's [sweep] into runs, then list them (--dry-run), write a
// Slurm job array (--emit slurm), or run them here one after another, skipping finished runs.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "plugin/host_services.hpp"
#include "recipe/resolve.hpp"
#include "recipe/serialize.hpp"
#include "report/report.hpp"
#include "sweep/cell_state.hpp"
#include "sweep/expand.hpp"
#include "sweep/slurm_script.hpp"
#include "util/atomic_file.hpp"
#include "util/logging.hpp"

namespace fs = std::filesystem;

namespace cap::cli {

namespace {

struct CellPlan {
    const sweep::Cell* cell = nullptr;
    std::optional<recipe::ResolvedRecipe> resolved;   // empty: invalid
    std::vector<recipe::Diagnostic> problems;
    sweep::CellStatus status;
    bool failed = false;   // this session ran it and it failed
};

std::string labels_text(const sweep::Cell& cell) {
    std::string out;
    for (const auto& [axis, label] : cell.labels) out += (out.empty() ? "" : " ") + axis + "=" + label;
    if (!cell.start_recipe.empty()) {
        std::error_code ec;
        const fs::path shown = fs::relative(cell.start_recipe, ec);
        out += "  (from " + (ec || shown.empty() ? cell.start_recipe : shown.string()) + ")";
    }
    return out;
}

std::vector<CellPlan> plan_cells(const sweep::Expansion& expansion, const std::vector<size_t>& chosen,
                                 const fs::path& out_dir, const host::PluginRegistry& registry) {
    std::vector<CellPlan> plans;
    for (size_t i : chosen) {
        CellPlan p;
        p.cell = &expansion.cells[i];
        try {
            p.resolved = recipe::resolve_tree(p.cell->recipe, registry);
            p.status = sweep::cell_status(out_dir / p.cell->name, recipe::to_toml(p.resolved->tree));
        } catch (const recipe::RecipeErrors& e) {
            p.problems = e.diagnostics();
        } catch (const std::exception& e) {
            p.problems.push_back({recipe::Origin{p.cell->recipe.file.string(), 0, 0, ""}, e.what()});
        }
        plans.push_back(std::move(p));
    }
    return plans;
}

void print_listing(const sweep::Expansion& expansion, const std::vector<CellPlan>& plans, const fs::path& out_dir) {
    std::cout << "sweep '" << expansion.spec.name << "': " << expansion.cells.size() << " runs in "
              << out_dir.string() << "\n";
    size_t width = 3;
    for (const auto& p : plans) width = std::max(width, p.cell->name.size());
    for (const auto& p : plans) {
        const std::string state = p.resolved ? sweep::state_name(p.status.state) : "invalid";
        std::cout << "  " << p.cell->index << (p.cell->index < 10 ? "   " : p.cell->index < 100 ? "  " : " ")
                  << p.cell->name << std::string(width + 2 - p.cell->name.size(), ' ') << state
                  << std::string(10 - std::min<size_t>(9, state.size()), ' ') << labels_text(*p.cell) << "\n";
    }
}

// An index (what Slurm passes), else a name: a run named "1" is reached by name only when "1"
// is not an index, so array task 1 always runs the second cell.
std::optional<size_t> find_cell(const sweep::Expansion& e, const std::string& which) {
    for (const auto& c : e.cells)
        if (std::to_string(c.index) == which) return c.index;
    for (const auto& c : e.cells)
        if (c.name == which) return c.index;
    return std::nullopt;
}

void write_sweep_json(const sweep::Expansion& e, const std::vector<CellPlan>& plans, const fs::path& out_dir,
                      const std::string& recipe_file) {
    nlohmann::ordered_json j;
    j["sweep"] = e.spec.name;
    j["recipe"] = fs::absolute(recipe_file).lexically_normal().string();
    if (!e.spec.layout.empty()) j["layout"] = e.spec.layout.string();
    j["runs"] = nlohmann::ordered_json::array();
    for (const auto& c : e.cells) {
        nlohmann::ordered_json run{{"index", c.index}, {"name", c.name}};
        for (const auto& [axis, label] : c.labels) run["labels"][axis] = label;
        if (!c.start_recipe.empty()) run["from"] = c.start_recipe;
        for (const auto& p : plans)
            if (p.cell == &c && p.resolved) run["status"] = p.failed ? "failed" : sweep::state_name(p.status.state);
        j["runs"].push_back(run);
    }
    util::write_file_atomic(out_dir / "sweep.json", j.dump(2) + "\n");
}

// Prints each distinct problem once, with the runs it stops (a missing model folder shared by
// forty runs is one line, not forty). Returns whether there was any.
bool report_problems(const std::vector<CellPlan>& plans) {
    std::vector<std::pair<std::string, std::vector<std::string>>> problems;  // message -> runs
    auto add = [&](const std::string& message, const std::string& run) {
        auto it = std::find_if(problems.begin(), problems.end(), [&](const auto& p) { return p.first == message; });
        if (it == problems.end()) problems.push_back({message, {run}});
        else it->second.push_back(run);
    };
    for (const auto& p : plans) {
        if (!p.resolved)
            for (const auto& d : p.problems) add(d.str(), p.cell->name);
        else if (p.status.state == sweep::CellState::Foreign)
            add("error: " + p.status.detail, p.cell->name);
    }
    for (const auto& [message, runs] : problems) {
        std::string names;
        for (size_t i = 0; i < runs.size() && i < 4; ++i) names += (i ? ", " : "") + runs[i];
        if (runs.size() > 4) names += ", ... (" + std::to_string(runs.size()) + " runs)";
        std::cerr << message << "\n    in run" << (runs.size() > 1 ? "s " : " ") << names << "\n";
    }
    return !problems.empty();
}

}  // namespace

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
    const fs::path out_dir = options.out_dir.empty() ? fs::path("runs") / expansion.spec.name : fs::path(options.out_dir);
    std::vector<size_t> chosen;
    if (!options.cell.empty()) {
        auto index = find_cell(expansion, options.cell);
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
    auto plans = plan_cells(expansion, chosen, out_dir, registry);
    report_registry_problems(registry);

    if (options.dry_run) {
        print_listing(expansion, plans, out_dir);
        size_t invalid = 0;
        for (const auto& p : plans) invalid += p.resolved ? 0 : 1;
        if (report_problems(plans))
            std::cerr << invalid << " of " << plans.size()
                      << " runs would not start here (above: why); `cap sweep` refuses to start until every run validates\n";
        return kExitOk;
    }
    if (report_problems(plans)) return kExitUsage;

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
        for (const auto& p : global.plugin_paths) request.plugin_paths.push_back(fs::absolute(p).lexically_normal());
        fs::create_directories(out_dir / "slurm", ec);
        util::write_file_atomic(out_dir / "sweep.sbatch", sweep::slurm_script(expansion, request));
        write_sweep_json(expansion, plans, out_dir, options.recipe);
        std::cout << "wrote " << (out_dir / "sweep.sbatch").string() << " (" << expansion.cells.size()
                  << " array tasks); submit it with: sbatch " << (out_dir / "sweep.sbatch").string() << "\n";
        return kExitOk;
    }

    // One log per sweep session; Slurm array tasks run one cell each and log apart.
    const std::string log_name =
        options.cell.empty() ? "sweep.log" : "sweep-cell-" + expansion.cells[chosen[0]].name + ".log";
    util::ScopedLogFile sweep_log(out_dir / log_name);
    print_listing(expansion, plans, out_dir);
    if (options.cell.empty()) write_sweep_json(expansion, plans, out_dir, options.recipe);
    size_t failed = 0, ran = 0;
    for (auto& p : plans) {
        const fs::path dir = out_dir / p.cell->name;
        if (p.status.state == sweep::CellState::Done) {
            spdlog::info("sweep: run {} of {} '{}' is done: skipped", p.cell->index + 1, expansion.cells.size(),
                         p.cell->name);
            continue;
        }
        const bool resume = p.status.state == sweep::CellState::Partial;
        spdlog::info("sweep: run {} of {} '{}' ({}){}", p.cell->index + 1, expansion.cells.size(), p.cell->name,
                     labels_text(*p.cell), resume ? ": resuming" : "");
        fs::create_directories(dir, ec);
        host::set_run_seed(p.resolved->seed);
        const int rc = execute_run(*p.resolved, dir, resume, options.overrides, options.command_line, options.recipe);
        ++ran;
        if (rc != kExitOk) {
            ++failed;
            p.failed = true;
            spdlog::error("sweep: run '{}' failed (its run.log says why); going on with the next", p.cell->name);
        } else {
            p.status = sweep::cell_status(dir, recipe::to_toml(p.resolved->tree));
        }
        if (options.cell.empty()) write_sweep_json(expansion, plans, out_dir, options.recipe);
    }
    if (failed) {
        spdlog::error("sweep '{}': {} of {} runs failed", expansion.spec.name, failed, ran);
        return kExitFailure;
    }
    spdlog::info("sweep '{}': every run is done ({} ran now)", expansion.spec.name, ran);
    if (options.cell.empty() && !expansion.spec.layout.empty()) {
        try {
            report::ReportRequest request;
            request.layout = expansion.spec.layout;
            for (const auto& c : expansion.cells) request.run_dirs.push_back(out_dir / c.name);
            request.out_dir = out_dir / "report";
            auto outcome = report::write_report(request);
            for (const auto& w : outcome.warnings) spdlog::warn("report: {}", w);
            spdlog::info("sweep: report in {} ({} files)", request.out_dir.string(), outcome.files.size());
        } catch (const std::exception& e) {
            spdlog::error("sweep: the report failed: {}", e.what());
            return kExitFailure;
        }
    }
    return kExitOk;
}

}  // namespace cap::cli
