// Every plugin library exports exactly one dynamic symbol, cap_plugin_entry: nothing of
// LibTorch, the C++ runtime or the helper leaks into the global symbol space.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

TEST_CASE("exports: nm -D --defined-only shows only cap_plugin_entry in each plugin") {
    std::vector<fs::path> libraries;
    for (const char* dir : {cap::test::kBuiltinPlugins, cap::test::kFixturesOk})
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".so") libraries.push_back(e.path());
    REQUIRE(libraries.size() >= 9);
    for (const auto& lib : libraries) {
        CAPTURE(lib.string());
        auto r = cap::test::run_command("nm -D --defined-only " + lib.string());
        REQUIRE(r.exit_code == 0);
        std::istringstream lines(r.output);
        std::vector<std::string> symbols;
        std::string address, type, name;
        while (lines >> address >> type >> name) symbols.push_back(name);
        INFO(r.output);
        REQUIRE(symbols.size() == 1);
        CHECK(symbols[0] == "cap_plugin_entry");
    }
}
