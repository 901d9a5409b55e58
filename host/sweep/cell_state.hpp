// Where one run of a sweep stands, read from its folder: what makes `cap sweep` resumable.
#pragma once

#include <filesystem>
#include <string>

namespace cap::sweep {

enum class CellState {
    ToRun,    // no folder, or an empty one
    Done,     // finished, by the rule `cap report` uses too (report::run_completion)
    Partial,  // recipe.toml but no summary.json: killed mid-way; `cap sweep` resumes it
    Foreign   // something else is there (another recipe, not a run folder, a damaged result): never touched
};

struct CellStatus {
    CellState state = CellState::ToRun;
    std::string detail;  // for Foreign: why
};

// `recipe_toml` is what the run would write as recipe.toml; a folder holding a different one
// was made from another version of the sweep and is reported as Foreign, not silently reused.
CellStatus cell_status(const std::filesystem::path& dir, const std::string& recipe_toml);

const char* state_name(CellState state);  // "to run", "done", "partial", "conflict"

}  // namespace cap::sweep
