// Host utilities: atomic writes, suggestions, seeds, statuses, DLTensor views.
#include <doctest/doctest.h>

#include <csignal>

#include "cap/plugin_torch.hpp"
#include "plugin/host_services.hpp"
#include "plugin/status.hpp"
#include "support/process.hpp"
#include "util/atomic_file.hpp"
#include "util/crash_report.hpp"
#include "util/seed.hpp"
#include "util/sha256.hpp"
#include "util/suggest.hpp"

namespace fs = std::filesystem;

TEST_CASE("util: atomic writes replace the file whole and leave no temporary behind") {
    const fs::path dir = cap::test::scratch_dir("atomic");
    cap::util::write_file_atomic(dir / "a.json", "first");
    cap::util::write_file_atomic(dir / "a.json", "second");
    CHECK(cap::test::read_text(dir / "a.json") == "second");
    int files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++files;
    CHECK(files == 1);
    CHECK_THROWS_WITH_AS(cap::util::write_file_atomic(dir / "missing" / "a.json", "x"),
                         doctest::Contains("cannot write"), std::runtime_error);
    CHECK_FALSE(fs::exists(dir / "missing"));
}

TEST_CASE("util: sha256 of a file matches a known digest") {
    const fs::path f = cap::test::write_text(cap::test::scratch_dir("sha") / "abc", "abc");
    CHECK(cap::util::sha256_file(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("util: suggestions catch typos and ignore unrelated words") {
    using cap::util::closest;
    CHECK(closest("temprature", {"temperature", "weight"}) == "temperature");
    CHECK(closest("sedd", {"seed", "name"}) == "seed");
    CHECK(closest("shcedule", {"schedule", "criterion"}) == "schedule");  // transposition
    CHECK(closest("banana", {"seed", "name"}).empty());
    CHECK(cap::util::edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("util: plugin seeds are stable, differ by stream and follow the run seed") {
    using cap::util::derive_seed;
    CHECK(derive_seed(42, nullptr) == 42);
    CHECK(derive_seed(42, "a") == derive_seed(42, "a"));
    CHECK(derive_seed(42, "a") != derive_seed(42, "b"));
    CHECK(derive_seed(42, "a") != derive_seed(43, "a"));
    CHECK(derive_seed(42, "negatives") == 13311607966374483086ull);  // frozen: resumed runs depend on it
}

TEST_CASE("util: host-made statuses carry code and message and free themselves") {
    cap_status* s = cap::host::make_host_status(CAP_ERROR_UNAVAILABLE, "no GPU");
    REQUIRE(s);
    CHECK(s->code == CAP_ERROR_UNAVAILABLE);
    CHECK(std::string(s->message) == "no GPU");
    CHECK_THROWS_WITH_AS(cap::host::check_status(s, "backend/x: probe"), "backend/x: probe: no GPU [unavailable]",
                         cap::host::PluginError);
    CHECK_NOTHROW(cap::host::check_status(nullptr, "nothing"));
}

TEST_CASE("util: DLTensor views share memory with at::Tensor both ways") {
    at::Tensor a = at::arange(6, at::kFloat).view({2, 3});
    DLTensor view = cap::to_dl(a);
    CHECK(view.ndim == 2);
    CHECK(view.shape[1] == 3);
    CHECK(view.dtype.code == kDLFloat);
    at::Tensor back = cap::to_aten(view);
    back.mul_(2);
    CHECK(a[1][2].item<float>() == 10.0f);  // same memory
    at::Tensor t = a.t();                   // non-contiguous: strides travel
    at::Tensor t_back = cap::to_aten(cap::to_dl(t));
    CHECK(at::equal(t_back, t));
    at::Tensor zeros = at::zeros({3, 2});
    DLTensor out = cap::to_dl(zeros);
    cap::write(&out, t);
    CHECK(at::equal(cap::to_aten(out), t));
    at::Tensor small = at::zeros({2, 2});
    DLTensor wrong = cap::to_dl(small);
    CHECK_THROWS_WITH_AS(cap::write(&wrong, t), doctest::Contains("differs from result shape"), cap::Error);
    CHECK_THROWS_AS(cap::expect(&view, at::kLong, 2, "x"), cap::Error);
}

TEST_CASE("util: the crash record names the innermost plugin call, and nothing outside one") {
    CHECK(cap::util::crash_line(SIGSEGV).empty());
    {
        const cap::util::PluginCallRecord outer("schedule/cubic", "at");
        {
            const cap::util::PluginCallRecord inner("criterion/wanda", "select");
            CHECK(cap::util::crash_line(SIGSEGV) ==
                  "cap: SIGSEGV (invalid memory access) inside criterion/wanda: select, a call into that plugin; the "
                  "process dies with the signal");
        }
        CHECK(cap::util::crash_line(SIGFPE).find("cap: SIGFPE (arithmetic error) inside schedule/cubic: at,") == 0);
    }
    CHECK(cap::util::crash_line(SIGSEGV).empty());
}
