// Checking one recipe table against an option schema (a plugin's, or one of the host's own).
#pragma once

#include <string>
#include <vector>

#include "plugin/option_schema.hpp"
#include "recipe/node.hpp"

namespace cap::recipe {

// Validates `table` against `schema`: unknown keys (with the closest valid name), wrong types,
// values out of range or not among the choices, missing required keys, paths that do not exist.
// Keys in `reserved` (e.g. "plugin") are skipped. Returns the values with defaults filled in;
// problems go to `errors`. `owner` names the schema's owner in messages ("criterion plugin
// 'random'"; empty for the host's own tables); `table_name` is how the recipe spells the table
// ("[criterion]").
host::OptionValues check_table(const Node& table, const std::vector<host::OptionSpec>& schema, const std::string& owner,
                               const std::string& table_name, const std::vector<std::string>& reserved,
                               std::vector<Diagnostic>& errors);

}  // namespace cap::recipe
