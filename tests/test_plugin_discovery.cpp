// Discovery over folders: what is found, what is rejected (and why), and which of two plugins
// with the same kind and name wins.
#include <doctest/doctest.h>

#include <cstdlib>

#include "plugin/registry.hpp"
#include "support/process.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using namespace cap::host;

TEST_CASE("discovery: good plugins are listed, broken ones rejected with their load step") {
    auto reg = PluginRegistry::discover({cap::test::kFixturesOk, cap::test::kFixturesBad, cap::test::kBuiltinPlugins});
    CHECK(reg.find(CAP_KIND_SCHEDULE, "c_fixture") != nullptr);
    CHECK(reg.find(CAP_KIND_CRITERION, "fixture") != nullptr);
    CHECK(reg.find(CAP_KIND_BACKEND, "cpu") != nullptr);
    CHECK(reg.find(CAP_KIND_SCHEDULE, "iterative") != nullptr);
    CHECK(reg.find(CAP_KIND_SCHEDULE, "major2") == nullptr);
    CHECK(reg.find(CAP_KIND_SCHEDULE, "no_such") == nullptr);

    std::map<std::string, std::string> steps;
    for (const auto& r : reg.rejected()) steps[r.path.filename().string()] = r.step;
    CHECK(steps.size() == 6);
    CHECK(steps["fixture_no_entry.so"] == "entry point");
    CHECK(steps["fixture_wrong_major.so"] == "ABI version");
    CHECK(steps["fixture_null_function.so"] == "function table");
    CHECK(steps["fixture_refuses.so"] == "entry call");
    CHECK(steps["fixture_no_descriptor.so"] == "entry call");
    CHECK(steps["fixture_needs_newer_host.so"] == "entry call");

    // Sorted by kind, then name.
    for (size_t i = 1; i < reg.plugins().size(); ++i) {
        const auto& a = *reg.plugins()[i - 1];
        const auto& b = *reg.plugins()[i];
        CHECK(std::make_pair(int(a.kind()), a.name()) < std::make_pair(int(b.kind()), b.name()));
    }
}

TEST_CASE("discovery: the earlier folder wins, and the same name twice in one folder is a conflict") {
    const fs::path first = cap::test::scratch_dir("discovery_first");
    const fs::path second = cap::test::scratch_dir("discovery_second");
    const fs::path source = fs::path(cap::test::kFixturesOk) / "fixture_c_schedule.so";
    fs::copy_file(source, first / "mine.so");
    fs::copy_file(source, second / "theirs.so");

    auto reg = PluginRegistry::discover({first, second});
    auto found = reg.find(CAP_KIND_SCHEDULE, "c_fixture");
    REQUIRE(found);
    CHECK(found->path() == first / "mine.so");
    REQUIRE(reg.shadowed().size() == 1);
    CHECK(reg.shadowed()[0].ignored == second / "theirs.so");
    CHECK(reg.conflicts().empty());

    fs::copy_file(source, first / "again.so");
    auto conflicted = PluginRegistry::discover({first, second});
    REQUIRE(conflicted.conflicts().count("schedule/c_fixture") == 1);
    try {
        conflicted.find(CAP_KIND_SCHEDULE, "c_fixture");
        FAIL("a conflict must not resolve");
    } catch (const std::runtime_error& e) {
        const std::string both = (first / "again.so").string() + " and " + (first / "mine.so").string();
        CHECK(std::string(e.what()).find(both) != std::string::npos);
    }
}

TEST_CASE("discovery: --plugin-path comes before CAP_PLUGIN_PATH, which comes before the built-in folder") {
    setenv("CAP_PLUGIN_PATH", "/env/one:/env/two", 1);
    auto path = plugin_search_path({"/cli/a", "/cli/b"});
    unsetenv("CAP_PLUGIN_PATH");
    REQUIRE(path.size() == 5);
    CHECK(path[0] == "/cli/a");
    CHECK(path[1] == "/cli/b");
    CHECK(path[2] == "/env/one");
    CHECK(path[3] == "/env/two");
    CHECK(path[4] == builtin_plugin_dir());
    CHECK(builtin_plugin_dir().filename() == "plugins");
}

TEST_CASE("discovery: validate and run say when a user plugin shadows a built-in, naming both files") {
    const fs::path mine = cap::test::scratch_dir("shadowing_plugins");
    const fs::path builtin = fs::path(cap::test::kBuiltinPlugins) / "cap_criterion_first_order.so";
    fs::copy_file(builtin, mine / "my_first_order.so");
    const fs::path recipe = fs::path(cap::test::kSourceDir) / "configs" / "quickstart.toml";
    auto validate = cap::test::run_cap("validate " + recipe.string() + " --plugin-path " + mine.string());
    INFO(validate.output);
    CHECK(validate.exit_code == 0);
    const std::string says = "plugin criterion/first_order from " + (mine / "my_first_order.so").string() +
                             " shadows the one in " + builtin.string();
    CHECK(validate.output.find(says) != std::string::npos);
    // run warns before anything else; a bad --set stops it right after, so nothing trains.
    auto run = cap::test::run_cap("run " + recipe.string() + " --plugin-path " + mine.string() +
                                  " --set schedule.percents=[150] --out " + (mine / "run").string());
    CHECK(run.exit_code != 0);
    CHECK(run.output.find(says) != std::string::npos);
}
