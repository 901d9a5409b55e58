// cap check-plugin: every built plugin passes its kind's conformance checks; broken ones fail
// at the right check, and the tool reports instead of crashing.
#include <doctest/doctest.h>

#include "support/process.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using cap::test::run_cap;

TEST_CASE("check-plugin: every built-in plugin passes") {
    int checked = 0;
    for (const auto& e : fs::directory_iterator(cap::test::kBuiltinPlugins)) {
        if (e.path().extension() != ".so") continue;
        auto r = run_cap("check-plugin " + e.path().string());
        CAPTURE(e.path().string());
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find(" 0 failed") != std::string::npos);
        ++checked;
    }
    CHECK(checked >= 5);
}

TEST_CASE("check-plugin: taylor and wanda pass per weight too") {
    for (const char* name : {"taylor", "wanda"}) {
        CAPTURE(name);
        auto r =
            run_cap("check-plugin " +
                    (fs::path(cap::test::kBuiltinPlugins) / (std::string("cap_criterion_") + name + ".so")).string() +
                    " --option granularity=unstructured");
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("PASS  info and the entries of its style: unstructured, importance-based") !=
              std::string::npos);
        CHECK(r.output.find("PASS  select: 24 of 48 units kept") != std::string::npos);
    }
    auto fixture = run_cap("check-plugin " + (fs::path(cap::test::kFixturesOk) / "fixture_criterion.so").string() +
                           " --option needed=3 --option granularity=unstructured");
    INFO(fixture.output);
    CHECK(fixture.exit_code == 0);
}

TEST_CASE("check-plugin: the fixtures of every kind pass, with required options given") {
    const fs::path ok = cap::test::kFixturesOk;
    auto criterion = run_cap("check-plugin " + (ok / "fixture_criterion.so").string() + " --option needed=3");
    INFO(criterion.output);
    CHECK(criterion.exit_code == 0);
    CHECK(criterion.output.find("PASS  select: 9 of 12 units kept") != std::string::npos);
    auto contrastive = run_cap("check-plugin " + (ok / "fixture_contrastive.so").string());
    INFO(contrastive.output);
    CHECK(contrastive.exit_code == 0);
    CHECK(contrastive.output.find("PASS  receive_bank: 2 bank(s)") != std::string::npos);
    CHECK(run_cap("check-plugin " + (ok / "fixture_c_schedule.so").string()).exit_code == 0);
    auto scores = run_cap("check-plugin " + (ok / "fixture_topk.so").string());
    INFO(scores.output);
    CHECK(scores.exit_code == 0);
    CHECK(scores.output.find("PASS  info and the entries of its style: unstructured, score-based") !=
          std::string::npos);
    CHECK(scores.output.find("PASS  regularizer") != std::string::npos);
}

TEST_CASE("check-plugin: failures are reported as FAIL lines with exit status 1") {
    const fs::path ok = cap::test::kFixturesOk;
    auto missing_option = run_cap("check-plugin " + (ok / "fixture_criterion.so").string());
    CHECK(missing_option.exit_code == 1);
    CHECK(missing_option.output.find("FAIL  options: ") != std::string::npos);
    CHECK(missing_option.output.find("missing required key 'needed'") != std::string::npos);
    auto bad_option =
        run_cap("check-plugin " + (ok / "fixture_criterion.so").string() + " --option needed=3 --option scale=99");
    CHECK(bad_option.exit_code == 1);
    CHECK(bad_option.output.find("command line (--option scale=99): error: scale = 99.0 is out of range") !=
          std::string::npos);

    // Needs a run would refuse fail here, before anything is called with them.
    auto needs =
        run_cap("check-plugin " + (ok / "fixture_criterion.so").string() + " --option needed=3 --option extra_needs=8");
    CHECK(needs.exit_code == 1);
    CHECK(needs.output.find("FAIL  needs that its granularity can get: a structured criterion cannot ask for "
                            "learnable scores") != std::string::npos);
    CHECK(needs.output.find("PASS  reset") == std::string::npos);
    auto per_weight = run_cap("check-plugin " + (ok / "fixture_criterion.so").string() +
                              " --option needed=3 --option granularity=unstructured --option extra_needs=1");
    CHECK(per_weight.exit_code == 1);
    CHECK(per_weight.output.find("FAIL  needs that its granularity can get: an unstructured, importance-based "
                                 "criterion gets each weight") != std::string::npos);

    auto throwing = run_cap("check-plugin " + (ok / "fixture_throwing.so").string());
    CHECK(throwing.exit_code == 1);
    CHECK(throwing.output.find("FAIL  reset: criterion/throwing: reset: unknown exception inside the plugin") !=
          std::string::npos);
    CHECK(throwing.output.find("FAIL  select: criterion/throwing: select: select exploded") != std::string::npos);

    auto no_entry = run_cap("check-plugin " + std::string(cap::test::kFixturesBad) + "/fixture_no_entry.so");
    CHECK(no_entry.exit_code == 1);
    CHECK(no_entry.output.find("PASS  open library") != std::string::npos);
    CHECK(no_entry.output.find("FAIL  entry point") != std::string::npos);
    CHECK(no_entry.output.find("checks: 1 passed, 1 failed") != std::string::npos);

    auto null_fn = run_cap("check-plugin " + std::string(cap::test::kFixturesBad) + "/fixture_null_function.so");
    CHECK(null_fn.exit_code == 1);
    CHECK(null_fn.output.find("FAIL  function table: ") != std::string::npos);
}
