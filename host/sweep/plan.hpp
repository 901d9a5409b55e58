// One sweep's runs as this process sees them: each cell resolved (or the problems that stop
// it) and its folder's state, listed for the user and recorded in sweep.json.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "plugin/registry.hpp"
#include "recipe/resolve.hpp"
#include "sweep/cell_state.hpp"
#include "sweep/expand.hpp"

namespace cap::sweep {

struct CellPlan {
    const Cell* cell = nullptr;
    std::optional<recipe::ResolvedRecipe> resolved;  // empty: invalid
    std::vector<recipe::Diagnostic> problems;
    CellStatus status;
    bool failed = false;  // this session ran it and it failed
};

// Resolves the cells `chosen` (indices) and reads their folders under `out_dir`.
std::vector<CellPlan> plan_cells(const Expansion& expansion, const std::vector<size_t>& chosen,
                                 const std::filesystem::path& out_dir, const host::PluginRegistry& registry);

// "axis=label ..." and the variant's starting recipe, for listings and logs.
std::string labels_text(const Cell& cell);

// Every planned run with where it stands, on stdout.
void print_listing(const Expansion& expansion, const std::vector<CellPlan>& plans,
                   const std::filesystem::path& out_dir);

// An index (what Slurm passes), else a run name.
std::optional<size_t> find_cell(const Expansion& expansion, const std::string& which);

// sweep.json: every run, its labels and status. Runs without a plan here keep the status the file
// holds (each Slurm array task records its own run); read and rewritten under a lock.
void write_sweep_json(const Expansion& expansion, const std::vector<CellPlan>& plans,
                      const std::filesystem::path& out_dir, const std::string& recipe_file);

// Prints each distinct problem once, with the runs it stops, on stderr; counts the runs that
// would not start (invalid, or a conflicting folder).
size_t report_problems(const std::vector<CellPlan>& plans);

}  // namespace cap::sweep
