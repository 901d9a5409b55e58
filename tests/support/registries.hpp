// The plugin registries tests resolve against, discovered once per process.
#pragma once

#include "plugin/registry.hpp"

namespace cap::test {

const host::PluginRegistry& builtin_registry();  // build/lib/cap/plugins
const host::PluginRegistry& fixture_registry();  // tests' plugins_ok, then the built-in ones

}  // namespace cap::test
