#include "sweep/plan.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>

#include "recipe/serialize.hpp"
#include "util/atomic_file.hpp"
#include "util/error_text.hpp"
#include "util/file_lock.hpp"

namespace fs = std::filesystem;

namespace cap::sweep {

std::string labels_text(const Cell& cell) {
    std::string out;
    for (const auto& [axis, label] : cell.labels) out += (out.empty() ? "" : " ") + axis + "=" + label;
    if (!cell.start_recipe.empty()) {
        std::error_code ec;
        const fs::path shown = fs::relative(cell.start_recipe, ec);
        out += "  (from " + (ec || shown.empty() ? cell.start_recipe : shown.string()) + ")";
    }
    return out;
}

std::vector<CellPlan> plan_cells(const Expansion& expansion, const std::vector<size_t>& chosen, const fs::path& out_dir,
                                 const host::PluginRegistry& registry) {
    std::vector<CellPlan> plans;
    for (size_t i : chosen) {
        CellPlan p;
        p.cell = &expansion.cells[i];
        try {
            p.resolved = recipe::resolve_tree(p.cell->recipe, registry);
            p.status = cell_status(out_dir / p.cell->name, recipe::to_toml(p.resolved->tree));
        } catch (const recipe::RecipeErrors& e) {
            p.problems = e.diagnostics();
        } catch (const std::exception& e) {
            p.problems.push_back({recipe::Origin{p.cell->recipe.file.string(), 0, 0, ""}, util::error_text(e)});
        }
        plans.push_back(std::move(p));
    }
    return plans;
}

void print_listing(const Expansion& expansion, const std::vector<CellPlan>& plans, const fs::path& out_dir) {
    std::cout << "sweep '" << expansion.spec.name << "': " << expansion.cells.size() << " runs in " << out_dir.string()
              << "\n";
    size_t width = 3;
    for (const auto& p : plans) width = std::max(width, p.cell->name.size());
    for (const auto& p : plans) {
        const std::string state = p.resolved ? state_name(p.status.state) : "invalid";
        std::cout << "  " << p.cell->index
                  << (p.cell->index < 10    ? "   "
                      : p.cell->index < 100 ? "  "
                                            : " ")
                  << p.cell->name << std::string(width + 2 - p.cell->name.size(), ' ') << state
                  << std::string(10 - std::min<size_t>(9, state.size()), ' ') << labels_text(*p.cell) << "\n";
    }
}

// An index (what Slurm passes), else a name: a run named "1" is reached by name only when "1"
// is not an index, so array task 1 always runs the second cell.
std::optional<size_t> find_cell(const Expansion& e, const std::string& which) {
    for (const auto& c : e.cells)
        if (std::to_string(c.index) == which) return c.index;
    for (const auto& c : e.cells)
        if (c.name == which) return c.index;
    return std::nullopt;
}

namespace {

// Slurm array tasks finish at once and each records its own run: the read-modify-write of
// sweep.json happens under an exclusive flock on a file beside it, released when this closes.
// The statuses sweep.json holds now, by run name (none when it is missing or unreadable: it is
// rewritten whole either way).
std::map<std::string, std::string> recorded_statuses(const fs::path& file) {
    std::map<std::string, std::string> out;
    std::ifstream in(file);
    if (!in) return out;
    const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("runs") || !j["runs"].is_array()) return out;
    for (const auto& run : j["runs"])
        if (run.is_object() && run.contains("name") && run["name"].is_string() && run.contains("status") &&
            run["status"].is_string())
            out[run["name"].get<std::string>()] = run["status"].get<std::string>();
    return out;
}

}  // namespace

void write_sweep_json(const Expansion& e, const std::vector<CellPlan>& plans, const fs::path& out_dir,
                      const std::string& recipe_file) {
    util::FileLock lock(out_dir / ".sweep-json.lock");  // array tasks rewrite it in turn
    lock.lock();
    // Runs this process has no plan for keep what another writer (an array task) recorded.
    const auto recorded = recorded_statuses(out_dir / "sweep.json");
    nlohmann::ordered_json j;
    j["sweep"] = e.spec.name;
    j["recipe"] = fs::absolute(recipe_file).lexically_normal().string();
    if (!e.spec.layout.empty()) j["layout"] = e.spec.layout.string();
    j["runs"] = nlohmann::ordered_json::array();
    for (const auto& c : e.cells) {
        nlohmann::ordered_json run{{"index", c.index}, {"name", c.name}};
        for (const auto& [axis, label] : c.labels) run["labels"][axis] = label;
        if (!c.start_recipe.empty()) run["from"] = c.start_recipe;
        bool planned = false;
        for (const auto& p : plans)
            if (p.cell == &c && p.resolved) {
                run["status"] = p.failed ? "failed" : state_name(p.status.state);
                planned = true;
            }
        if (!planned)
            if (auto it = recorded.find(c.name); it != recorded.end()) run["status"] = it->second;
        j["runs"].push_back(run);
    }
    util::write_file_atomic(out_dir / "sweep.json", j.dump(2) + "\n");
}

// A missing model folder shared by forty runs is one line, not forty.
size_t report_problems(const std::vector<CellPlan>& plans) {
    std::vector<std::pair<std::string, std::vector<std::string>>> problems;  // message -> runs
    auto add = [&](const std::string& message, const std::string& run) {
        auto it = std::find_if(problems.begin(), problems.end(), [&](const auto& p) { return p.first == message; });
        if (it == problems.end())
            problems.push_back({message, {run}});
        else
            it->second.push_back(run);
    };
    size_t stopped = 0;
    for (const auto& p : plans) {
        if (!p.resolved) {
            for (const auto& d : p.problems) add(d.str(), p.cell->name);
            ++stopped;
        } else if (p.status.state == CellState::Foreign) {
            add("error: " + p.status.detail, p.cell->name);
            ++stopped;
        }
    }
    for (const auto& [message, runs] : problems) {
        std::string names;
        for (size_t i = 0; i < runs.size() && i < 4; ++i) names += (i ? ", " : "") + runs[i];
        if (runs.size() > 4) names += ", ... (" + std::to_string(runs.size()) + " runs)";
        std::cerr << message << "\n    in run" << (runs.size() > 1 ? "s " : " ") << names << "\n";
    }
    return stopped;
}

}  // namespace cap::sweep
