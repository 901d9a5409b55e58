#include "sweep/cell_state.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "recipe/loader.hpp"
#include "report/run_results.hpp"
#include "util/run_lock.hpp"

namespace fs = std::filesystem;

namespace cap::sweep {

namespace {

// Same keys and values, whatever the order or the comments: a recipe edit that changes no
// value (a comment, a key moved) does not orphan the runs already made from it.
bool same_recipe(const std::string& recorded, const std::string& expected, const std::string& file) {
    if (recorded == expected) return true;
    try {
        const nlohmann::json a = recipe::parse_toml_text(recorded, file).to_json();
        const nlohmann::json b = recipe::parse_toml_text(expected, "(the sweep)").to_json();
        return a == b;
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

CellStatus cell_status(const fs::path& dir, const std::string& recipe_toml) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return {CellState::ToRun, ""};
    if (fs::is_directory(dir, ec)) {
        // Empty, or only what a kill before the first file leaves (its lock, a temporary file).
        if (util::holds_nothing(dir)) return {CellState::ToRun, ""};
    }
    if (!fs::is_directory(dir, ec)) return {CellState::Foreign, dir.string() + " is a file, not a run folder"};
    const fs::path recorded = dir / "recipe.toml";
    if (!fs::exists(recorded, ec))
        return {CellState::Foreign, dir.string() + " is not empty and holds no recipe.toml (not a run of this sweep)"};
    std::ifstream in(recorded);
    std::stringstream text;
    text << in.rdbuf();
    if (!same_recipe(text.str(), recipe_toml, recorded.string()))
        return {CellState::Foreign, dir.string() +
                                        "/recipe.toml differs from what the sweep now gives this run "
                                        "(the sweep or a recipe it uses changed): move the folder away "
                                        "to run it again"};
    const auto completion = report::run_completion(dir);
    switch (completion.state) {
        case report::RunCompletion::Finished: return {CellState::Done, ""};
        case report::RunCompletion::Unfinished: return {CellState::Partial, ""};
        case report::RunCompletion::Damaged: break;
    }
    return {CellState::Foreign,
            completion.detail + ": the run's result is damaged; move the folder away to run it again"};
}

const char* state_name(CellState state) {
    switch (state) {
        case CellState::ToRun: return "to run";
        case CellState::Done: return "done";
        case CellState::Partial: return "partial";
        case CellState::Foreign: return "conflict";
    }
    return "?";
}

}  // namespace cap::sweep
