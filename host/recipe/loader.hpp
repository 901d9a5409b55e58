// Reading a recipe file into a Node tree: TOML syntax, `include` and `unset`.
//
//   include = "base.toml"            # or a list; paths relative to this file
//   unset = ["contrastive.snc"]      # keys removed from what the includes provided
//
// Included files are merged first, in order, then `unset` applies, then this file's own keys
// win (tables merge key by key; any other value replaces). Includes may nest; cycles are errors.
#pragma once

#include <filesystem>
#include <vector>

#include "recipe/node.hpp"

namespace cap::recipe {

struct LoadedRecipe {
    std::filesystem::path file;  // as the user named it
    Node root;
    std::vector<std::filesystem::path> sources;  // every file read, includes first
};

// Throws RecipeErrors (every problem found, each with file:line:column).
LoadedRecipe load_recipe(const std::filesystem::path& file);

// Parses TOML text (for tests and --set values); `file` is what origins will name.
Node parse_toml_text(const std::string& text, const std::string& file);

}  // namespace cap::recipe
