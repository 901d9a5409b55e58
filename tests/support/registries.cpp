#include "support/registries.hpp"

#include "test_paths.hpp"

namespace cap::test {

const host::PluginRegistry& builtin_registry() {
    static const auto reg = host::PluginRegistry::discover({kBuiltinPlugins});
    return reg;
}

const host::PluginRegistry& fixture_registry() {
    static const auto reg = host::PluginRegistry::discover({kFixturesOk, kBuiltinPlugins});
    return reg;
}

}  // namespace cap::test
