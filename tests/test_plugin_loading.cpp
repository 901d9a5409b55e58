// Loading single libraries: the C99 fixture through the raw ABI, version rules, and every way a
// library can be malformed. Each rejection must name the file (and the versions where they are
// the reason), and the host must carry on afterwards.
#include <doctest/doctest.h>

#include <filesystem>

#include "cap/plugin_torch.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/host_services.hpp"
#include "plugin/library.hpp"
#include "plugin/schedule_plugin.hpp"
#include "test_paths.hpp"
#include "util/seed.hpp"

namespace fs = std::filesystem;
using namespace cap::host;

namespace {

fs::path ok(const char* file) { return fs::path(cap::test::kFixturesOk) / file; }
fs::path bad(const char* file) { return fs::path(cap::test::kFixturesBad) / file; }

// The message of the PluginLoadError that loading `path` throws ("" if it loads).
std::pair<std::string, std::string> rejection(const fs::path& path, const AbiPolicy& policy = {}) {
    try {
        PluginLibrary::load(path, policy);
    } catch (const PluginLoadError& e) {
        return {e.step(), e.what()};
    }
    return {"", ""};
}

OptionValues c_fixture_defaults() {
    return {{"percent", 50.0}, {"retrain_epochs", 1.0}, {"unused_list", std::vector<double>{50.0}}};
}

}  // namespace

TEST_CASE("loading: a plugin written in C99 against the raw ABI loads and runs") {
    auto lib = PluginLibrary::load(ok("fixture_c_schedule.so"));
    CHECK(lib->kind() == CAP_KIND_SCHEDULE);
    CHECK(lib->name() == "c_fixture");
    CHECK(lib->abi_version() == "1.3");
    REQUIRE(lib->options().size() == 3);
    CHECK(lib->options()[0].name == "percent");
    CHECK(*lib->options()[0].max == 100.0);

    // Its create() checks that the host refuses undeclared and mistyped option lookups.
    SchedulePlugin schedule(std::make_unique<PluginInstance>(lib, c_fixture_defaults()));
    cap_model_shape shape{sizeof(cap_model_shape), 12, 12, 768, 3072};
    cap_constraints constraints{sizeof(cap_constraints), 1};
    schedule.bind(shape, constraints);
    REQUIRE(schedule.num_stages() == 1);
    auto stage = schedule.stage(0);
    CHECK(stage.heads_to_prune == 72);
    CHECK(stage.ffn_to_prune == 18432);
    CHECK(stage.retrain_epochs == 1.0);
    CHECK_THROWS_WITH_AS(schedule.stage(1), doctest::Contains("stage index out of range"), PluginError);
}

TEST_CASE("loading: a plugin built for a newer minor loads when it uses nothing newer") {
    auto lib = PluginLibrary::load(ok("fixture_c_newer_minor.so"));
    CHECK(lib->abi_version() == "1.9");
    // Its descriptor and table are larger than this host's; the host reads what it knows.
    CHECK(lib->descriptor().struct_size > sizeof(cap_plugin_descriptor));
    CHECK(lib->table_size() > sizeof(cap_schedule_api));
    // It looks for a host service of its minor, finds the table too short, and falls back.
    SchedulePlugin schedule(std::make_unique<PluginInstance>(lib, c_fixture_defaults()));
    schedule.bind({sizeof(cap_model_shape), 2, 2, 128, 512}, {sizeof(cap_constraints), 1});
    CHECK(schedule.stage(0).heads_to_prune == 2);
}

TEST_CASE("loading: a plugin that needs a newer host refuses, naming both versions") {
    auto [step, message] = rejection(bad("fixture_needs_newer_host.so"));
    CHECK(step == "entry call");
    CHECK(message.find("fixture_needs_newer_host.so") != std::string::npos);
    CHECK(message.find("needs host ABI 1.9") != std::string::npos);
    CHECK(message.find("offers ABI 1.3") != std::string::npos);
}

TEST_CASE("loading: a different major version is rejected with both versions and the file") {
    auto [step, message] = rejection(bad("fixture_wrong_major.so"));
    CHECK(step == "ABI version");
    CHECK(message.find("fixture_wrong_major.so") != std::string::npos);
    CHECK(message.find("built for cap ABI 2.") != std::string::npos);
    CHECK(message.find("implements ABI 1.3") != std::string::npos);
}

TEST_CASE("loading: a host of a later minor keeps loading old plugins it supports") {
    // A host at ABI 1.4 that dropped support for minors below 1.1.
    AbiPolicy later{1, 4, 1};
    const fs::path dir = cap::test::kFixturesVersions;
    auto [step, message] = rejection(dir / "fixture_abi_1_0.so", later);
    CHECK(step == "ABI version");
    CHECK(message.find("fixture_abi_1_0.so") != std::string::npos);
    CHECK(message.find("built for cap ABI 1.0") != std::string::npos);
    CHECK(message.find("oldest this host supports (1.1") != std::string::npos);
    CHECK(message.find("implements 1.4") != std::string::npos);

    CHECK(PluginLibrary::load(dir / "fixture_abi_1_2.so", later)->abi_version() == "1.2");  // older, supported
    CHECK(PluginLibrary::load(dir / "fixture_abi_1_9.so", later)->abi_version() == "1.9");  // newer
    // This host (1.3, oldest 1.0) takes all four: 1.0 and 1.1 plugins keep loading after the bumps.
    for (const char* f : {"fixture_abi_1_0.so", "fixture_abi_1_1.so", "fixture_abi_1_2.so", "fixture_abi_1_9.so"})
        CHECK_NOTHROW(PluginLibrary::load(dir / f));
}

TEST_CASE("loading: every malformed library is rejected with the reason, and the host survives") {
    struct Case {
        const char* file;
        const char* step;
        const char* says;
    };
    const Case cases[] = {
        {"fixture_no_entry.so", "entry point", "does not export cap_plugin_entry"},
        {"fixture_no_descriptor.so", "entry call", "returned no descriptor and no reason"},
        {"fixture_refuses.so", "entry call", "refused to load: fixture refuses: its licence server is unreachable"},
        {"fixture_null_function.so", "function table", "required function 'at' is NULL"},
        {"fixture_wrong_major.so", "ABI version", "major versions must match"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.file);
        auto [step, message] = rejection(bad(c.file));
        CHECK(step == c.step);
        CHECK(message.find(c.says) != std::string::npos);
        CHECK(message.find(c.file) != std::string::npos);
    }
    auto [step, message] = rejection(bad("does_not_exist.so"));
    CHECK(step == "open library");
    CHECK(message.find("does_not_exist.so") != std::string::npos);
    // Still alive: a good plugin loads after all of that.
    CHECK(PluginLibrary::load(ok("fixture_c_schedule.so"))->name() == "c_fixture");
}

TEST_CASE("loading: failures and exceptions inside plugin calls arrive as statuses") {
    auto lib = PluginLibrary::load(ok("fixture_throwing.so"));
    CriterionPlugin criterion(std::make_unique<PluginInstance>(lib, OptionValues{}));
    cap_exec_context ctx{sizeof(cap_exec_context), {kDLCPU, 0}, nullptr, 1};

    // cap::fail -> a status with the plugin's code and message.
    try {
        criterion.importance(ctx, {}, {});
        FAIL("importance should fail");
    } catch (const PluginError& e) {
        CHECK(e.code() == CAP_ERROR_UNSUPPORTED);
        CHECK(std::string(e.what()) == "criterion/throwing: importance: importance is not ready [unsupported]");
    }
    // A std::exception thrown inside the helper -> an internal-error status with its text.
    cap_constraints constraints{sizeof(cap_constraints), 1};
    cap_selection selection{sizeof(cap_selection), 1, 1, 0.5, &constraints};
    try {
        criterion.select(ctx, selection, {}, {});
        FAIL("select should fail");
    } catch (const PluginError& e) {
        CHECK(e.code() == CAP_ERROR_INTERNAL);
        CHECK(std::string(e.what()).find("select exploded") != std::string::npos);
    }
    // Even a non-standard exception (throw 42) is contained.
    CHECK_THROWS_WITH_AS(criterion.reset(), doctest::Contains("unknown exception inside the plugin"), PluginError);
    // The instance and the host still work.
    CHECK(criterion.info().granularity == CAP_GRANULARITY_STRUCTURED);
    CHECK_FALSE(criterion.has_binarize());
    cap_schedule_point point{sizeof(cap_schedule_point), CAP_TARGET_THRESHOLD, 0.5, 0, -1, 0.5};
    cap_progress progress{sizeof(cap_progress), 0, 10, 0, 1, 10};
    CHECK_THROWS_WITH_AS(criterion.binarize(ctx, point, progress, {}, {}),
                         doctest::Contains("does not implement binarize"), PluginError);
    // Host-side argument checks stop a mismatch before it reaches the plugin.
    at::Tensor mask = at::ones({2, 2});
    DLTensor dl_mask = cap::to_dl(mask);
    cap_unit_group group{};
    group.struct_size = sizeof(cap_unit_group);
    group.name = "heads";
    group.unit_kind = CAP_UNITS_HEADS;
    group.layer = -1;
    group.mask = &dl_mask;
    CHECK_THROWS_WITH_AS(criterion.importance(ctx, {&group}, {}), doctest::Contains("0 outputs for 1 groups"),
                         std::invalid_argument);
}

TEST_CASE("loading: an instance keeps its library loaded after the caller drops it") {
    std::unique_ptr<SchedulePlugin> schedule;
    {
        auto lib = PluginLibrary::load(ok("fixture_c_schedule.so"));
        schedule = std::make_unique<SchedulePlugin>(std::make_unique<PluginInstance>(lib, c_fixture_defaults()));
    }  // the last outside reference to the library is gone here
    schedule->bind({sizeof(cap_model_shape), 2, 2, 128, 512}, {sizeof(cap_constraints), 1});
    CHECK(schedule->num_stages() == 1);
}

TEST_CASE("loading: each instance's seed() mixes the seed of its own run, whatever was created since") {
    auto lib = cap::host::PluginLibrary::load(fs::path(cap::test::kFixturesOk) / "fixture_c_schedule.so");
    PluginInstance first(lib, c_fixture_defaults(), 1);
    PluginInstance second(lib, c_fixture_defaults(), 2);  // a second run resolved after the first
    const cap_host_api* a = first.host_api();
    const cap_host_api* b = second.host_api();
    CHECK(a->seed(a, "negatives") == cap::util::derive_seed(1, "negatives"));
    CHECK(b->seed(b, "negatives") == cap::util::derive_seed(2, "negatives"));
    CHECK(a->seed(a, nullptr) == 1);
    // Outside any run (the entry point's table): cap's default seed.
    CHECK(lib->host_api()->seed(lib->host_api(), nullptr) == cap::host::kDefaultSeed);
}

TEST_CASE("loading: the host makes statuses for plugins (ABI 1.2): a copy of the message, always an error") {
    auto ctx = cap::host::make_host_context("criterion/in_c", CAP_ABI_VERSION_MAJOR, CAP_ABI_VERSION_MINOR, 42);
    const cap_host_api& api = ctx->api;
    REQUIRE(CAP_HAS_FIELD(&api, cap_host_api, make_status));
    std::string text = "no kernel for this dtype";
    cap_status* s = api.make_status(&api, CAP_ERROR_UNSUPPORTED, text.c_str());
    REQUIRE(s != nullptr);
    text.assign("overwritten by the plugin afterwards");
    CHECK(s->code == CAP_ERROR_UNSUPPORTED);
    CHECK(std::string(s->message) == "no kernel for this dtype");
    CHECK_THROWS_WITH_AS(cap::host::check_status(s, "criterion/in_c: select"),
                         "criterion/in_c: select: no kernel for this dtype [unsupported]", PluginError);
    // CAP_OK or an unknown code is still a failure; a NULL message reads as "".
    cap_status* ok = api.make_status(&api, CAP_OK, nullptr);
    CHECK(ok->code == CAP_ERROR_INTERNAL);
    CHECK(std::string(ok->message).empty());
    ok->release(ok);
}
