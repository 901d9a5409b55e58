// Command-line edits of a loaded recipe:
//   --unset contrastive.snc              removes a key or a whole table
//   --set contrastive.prc.temperature=0.2  sets a value (TOML syntax; a bare word is a string)
// Unsets apply first, then sets, each in the order given. Values set here carry a
// command-line origin, so later errors about them name the argument.
#pragma once

#include <string>
#include <vector>

#include "recipe/node.hpp"

namespace cap::recipe {

struct Overrides {
    std::vector<std::string> sets;    // "a.b=value"
    std::vector<std::string> unsets;  // "a.b"
};

// Applies every override; throws RecipeErrors listing each malformed or impossible one.
// `set_flag` is how origins name the option that set a value ("--set", or "--option").
void apply_overrides(Node& root, const Overrides& overrides, const std::string& set_flag = "--set");

}  // namespace cap::recipe
