// A sweep recipe expanded into its runs ("cells"): one recipe tree per combination of the
// axes' values, each with a readable name. Pure: reads recipe files, writes nothing.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "recipe/loader.hpp"
#include "recipe/overrides.hpp"
#include "sweep/sweep_spec.hpp"

namespace cap::sweep {

struct Cell {
    size_t index = 0;
    std::string name;                                         // unique within the sweep; its folder
    std::vector<std::pair<std::string, std::string>> labels;  // axis name -> label, in axis order
    std::string start_recipe;                                 // the variant's recipe file, if one gave it
    recipe::LoadedRecipe recipe;                              // the run's tree ([sweep] removed)
};

struct Expansion {
    SweepSpec spec;
    std::vector<Cell> cells;
};

// Loads `file`, expands its [sweep] and applies the command-line overrides to every cell.
// Throws RecipeErrors for a file without [sweep], malformed axes, duplicate run names, an
// override that edits a key an axis varies (it would flatten the axis), and any cell whose
// edits do not apply.
Expansion expand_sweep(const std::filesystem::path& file, const recipe::Overrides& overrides);

// True when recipe `root` has a [sweep] table (so `cap run` can point users to `cap sweep`).
bool declares_sweep(const recipe::Node& root);

}  // namespace cap::sweep
