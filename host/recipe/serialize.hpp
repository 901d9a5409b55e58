// A recipe tree back to TOML: the run folder keeps the recipe it ran (after includes and
// overrides) as recipe.toml, which `cap run --resume` reads.
#pragma once

#include <string>

#include "recipe/node.hpp"

namespace cap::recipe {

std::string to_toml(const Node& root);

}  // namespace cap::recipe
