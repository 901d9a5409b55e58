// The `cap` executable end to end: exit statuses, what it writes (and, on errors, does not).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "test_paths.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;
using cap::test::run_cap;

namespace {
std::string quickstart() { return std::string(cap::test::kSourceDir) + "/configs/quickstart.toml"; }
}  // namespace

TEST_CASE("cli: run quickstart writes the manifest, the log and the schedule trace") {
    const fs::path out = cap::test::scratch_dir("cli_run") / "run";
    auto r = run_cap("run " + quickstart() + " --out " + out.string() + " --set run.seed=7");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("finished") != std::string::npos);
    for (const char* f : {"manifest.json", "run.log", "schedule.json", "masks.safetensors", "final/config.json"})
        CHECK(fs::exists(out / f));
    for (const auto& e : fs::directory_iterator(out)) CHECK(e.path().string().find(".tmp") == std::string::npos);

    auto m = nlohmann::json::parse(cap::test::read_text(out / "manifest.json"));
    CHECK(m["seed"] == 7);
    CHECK(m["overrides"]["set"][0] == "run.seed=7");
    CHECK(m["resolved"]["schedule"]["percents"] == std::vector<double>{25, 50});
    CHECK(m["libtorch_version"].get<std::string>().rfind("1.", 0) == 0);
    CHECK(m["threads"].get<int>() >= 1);
    REQUIRE(m["plugins"].size() == 7);  // backend, criterion, schedule, prc, snc, fic, kd
    for (const auto& p : m["plugins"]) {
        CHECK(p["abi"] == "1.1");
        CHECK(p["sha256"] == cap::util::sha256_file(p["path"].get<std::string>()));
    }
    CHECK(m["backend"]["blas"]["vendor"] == "OpenBLAS");

    auto s = nlohmann::json::parse(cap::test::read_text(out / "schedule.json"));
    REQUIRE(s["stages"].size() == 2);
    CHECK(s["stages"][1]["heads_remaining"] == 2);
    CHECK(s["stages"][1]["ffn_remaining"] == 512);
    CHECK(cap::test::read_text(out / "run.log").find("stage  target") != std::string::npos);
}

TEST_CASE("cli: an invalid recipe exits with status 2 and writes nothing") {
    const fs::path dir = cap::test::scratch_dir("cli_invalid");
    auto recipe = cap::test::write_text(dir / "bad.toml", "[schedule]\nplugin = \"iterative\"\npercent = [10]\n");
    auto v = run_cap("validate " + recipe.string());
    CHECK(v.exit_code == 2);
    CHECK(v.output.find(recipe.string() + ":3:1: error: unknown key 'percent'") != std::string::npos);
    CHECK(v.output.find("did you mean 'percents'?") != std::string::npos);

    auto r = run_cap("run " + recipe.string() + " --out " + (dir / "out").string());
    CHECK(r.exit_code == 2);
    CHECK_FALSE(fs::exists(dir / "out"));

    auto s = run_cap("run " + quickstart() + " --out " + (dir / "out2").string() + " --set schedule.percents=oops");
    CHECK(s.exit_code == 2);
    CHECK(s.output.find("command line (--set schedule.percents=oops): error: percents must be an array") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "out2"));
}

TEST_CASE("cli: run refuses a non-empty --out folder") {
    const fs::path dir = cap::test::scratch_dir("cli_out_exists");
    cap::test::write_text(dir / "keep.txt", "precious");
    auto r = run_cap("run " + quickstart() + " --out " + dir.string());
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("already exists and is not an empty folder") != std::string::npos);
    CHECK(cap::test::read_text(dir / "keep.txt") == "precious");
}

TEST_CASE("cli: validate accepts the quickstart and every recipe in configs/") {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(cap::test::kSourceDir) / "configs")) {
        if (e.path().extension() != ".toml") continue;
        CAPTURE(e.path().string());
        // Report layouts are not recipes (test_report loads them); sweeps expand (test_sweep).
        if (e.path().string().find(".layout.toml") != std::string::npos) continue;
        if (cap::test::read_text(e.path()).find("\n[sweep]\n") != std::string::npos) {
            CHECK(run_cap("sweep " + e.path().string() + " --dry-run --out " +
                          (cap::test::scratch_dir("cli_validate_sweeps") / "out").string())
                      .exit_code == 0);
            continue;
        }
        // Recipes for models and data users bring (bert-base, full GLUE) name stand-ins from
        // the shared folder in a "# validate-with: <overrides>" line, $SHARED for its path.
        std::string extra;
        const std::string text = cap::test::read_text(e.path());
        if (auto at = text.find("# validate-with:"); at != std::string::npos) {
            extra = text.substr(at + 16, text.find('\n', at) - at - 16);
            const auto data = cap::test::data_dir();
            const std::string shared = data ? data->parent_path().string()
                                            : (fs::path(cap::test::kSourceDir) / ".." / "shared").lexically_normal().string();
            for (size_t p; (p = extra.find("$SHARED")) != std::string::npos;) extra.replace(p, 7, shared);
        }
        auto r = run_cap("validate " + e.path().string() + extra);
        INFO(r.output);
        CHECK(r.exit_code == 0);
    }
}

TEST_CASE("cli: plugins --json lists the built-in plugins with their options") {
    auto r = run_cap("plugins --json");
    REQUIRE(r.exit_code == 0);
    auto j = nlohmann::json::parse(r.output.substr(r.output.find('{')));
    std::map<std::string, nlohmann::json> by_label;
    for (const auto& p : j["plugins"]) by_label[p["kind"].get<std::string>() + "/" + p["name"].get<std::string>()] = p;
    for (const char* label : {"backend/cpu", "backend/cuda", "schedule/iterative", "schedule/one_shot", "distill/kd"})
        CHECK(by_label.count(label) == 1);
    CHECK(by_label["backend/cpu"]["available"] == true);
    CHECK(by_label["backend/cuda"]["available"] == false);
    CHECK(by_label["backend/cuda"]["unavailable_reason"].get<std::string>().find("CUDA") != std::string::npos);
    CHECK(by_label["schedule/iterative"]["options"][0]["name"] == "percents");
    CHECK(by_label["schedule/iterative"]["options"][0]["default"].size() == 9);
    CHECK(j["rejected"].empty());
}

TEST_CASE("cli: plugins lists rejected libraries with the reason") {
    auto r = run_cap(std::string("plugins --plugin-path ") + cap::test::kFixturesBad);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("rejected (ABI version): plugin " + std::string(cap::test::kFixturesBad) +
                        "/fixture_wrong_major.so was built for cap ABI 2.") != std::string::npos);
    CHECK(r.output.find("backend/cpu") != std::string::npos);
}

TEST_CASE("cli: usage errors exit with status 2") {
    CHECK(run_cap("").exit_code == 2);
    CHECK(run_cap("frobnicate").exit_code == 2);
    CHECK(run_cap("run").exit_code == 2);
    CHECK(run_cap("--log-level loud plugins").exit_code == 2);
    auto missing = run_cap("validate /no/such/recipe.toml");
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("recipe not found: /no/such/recipe.toml") != std::string::npos);
    auto version = run_cap("--version");
    CHECK(version.exit_code == 0);
    CHECK(version.output.find("plugin ABI 1.1") != std::string::npos);
}

TEST_CASE("cli: cap warns at start-up when LibTorch uses the reference BLAS") {
    const fs::path reference = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3";
    if (!fs::exists(reference)) {
        MESSAGE("SKIP: Debian's reference BLAS (libblas3) is not installed, so it cannot be swapped in");
        return;
    }
    // Put the reference libblas.so.3 first in the search path, as a machine without OpenBLAS has it.
    auto r = cap::test::run_command("LD_LIBRARY_PATH=" + reference.parent_path().string() + " " +
                                    cap::test::kCapExe + " plugins");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("LibTorch is using the reference BLAS") != std::string::npos);
    CHECK(r.output.find("apt-get install libopenblas0-pthread") != std::string::npos);
    auto normal = run_cap("plugins");
    CHECK(normal.output.find("reference BLAS") == std::string::npos);
}
