#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <iostream>

#include "system/process_tuning.hpp"
#include "util/logging.hpp"

namespace {

std::atomic<int> g_cases_run{0};

// Counts the test cases that ran, so that a --test-case filter matching none (a name CTest
// mangled, a renamed case) fails instead of passing with nothing checked.
struct CaseCounter : doctest::IReporter {
    explicit CaseCounter(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { ++g_cases_run; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("case_counter", 1, CaseCounter);

bool filters_by_name(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    // As in cap: timings and training tests must see the same threading as the tool.
    cap::sys::ensure_passive_openmp(argv);
    cap::sys::keep_freed_memory();
    // Plugin log lines go to stderr like in `cap`; keep them quiet unless something is wrong.
    cap::util::init_logging(spdlog::level::warn);
    doctest::Context context(argc, argv);
    const int result = context.run();
    if (context.shouldExit()) return result;  // --help, --list-test-cases, ...
    if (result == 0 && g_cases_run == 0 && filters_by_name(argc, argv)) {
        std::cerr << "no test case matches the --test-case filter: nothing was checked\n";
        return 1;
    }
    return result;
}
