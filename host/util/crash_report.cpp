#include "util/crash_report.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace cap::util {

namespace {

constexpr int kDepth = 8;
constexpr size_t kRecord = 200;
char g_records[kDepth][kRecord];
volatile sig_atomic_t g_depth = 0;  // records in use; written after the record itself
volatile sig_atomic_t g_log_fd = -1;
alignas(16) char g_alt_stack[64 * 1024];

const char* signal_name(int sig) {
    switch (sig) {
        case SIGSEGV: return "SIGSEGV (invalid memory access)";
        case SIGBUS: return "SIGBUS (bus error)";
        case SIGFPE: return "SIGFPE (arithmetic error)";
        case SIGILL: return "SIGILL (illegal instruction)";
        case SIGABRT: return "SIGABRT (abort)";
        default: return "a fatal signal";
    }
}

// Appends `s` to buf[*n] within `cap`; async-signal-safe (no library call but strlen).
void append(char* buf, size_t cap, size_t* n, const char* s) {
    const size_t len = std::strlen(s);
    const size_t room = *n < cap ? cap - *n : 0;
    const size_t take = len < room ? len : room;
    std::memcpy(buf + *n, s, take);
    *n += take;
}

// "cap: SIGSEGV (invalid memory access) inside criterion/x: select, a call into that plugin;
// the process dies with the signal"; length returned, 0 outside a plugin call.
size_t format_line(int sig, char* buf, size_t cap) {
    const int depth = g_depth;
    if (depth <= 0) return 0;
    size_t n = 0;
    append(buf, cap, &n, "cap: ");
    append(buf, cap, &n, signal_name(sig));
    append(buf, cap, &n, " inside ");
    append(buf, cap, &n, g_records[depth > kDepth ? kDepth - 1 : depth - 1]);
    append(buf, cap, &n, ", a call into that plugin; the process dies with the signal");
    return n;
}

void write_all(int fd, const char* buf, size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, buf, n);
        if (w <= 0) return;
        buf += w;
        n -= static_cast<size_t>(w);
    }
}

void on_fatal_signal(int sig) {
    static char line[512];
    const size_t n = format_line(sig, line, sizeof(line) - 1);
    if (n > 0) {
        line[n] = '\n';
        write_all(STDERR_FILENO, line, n + 1);
        const int fd = g_log_fd;
        if (fd >= 0) {
            write_all(fd, "crash ", 6);
            write_all(fd, line, n + 1);
        }
    }
    // SA_RESETHAND restored the default action: re-raising (or returning to a faulting
    // instruction) ends the process with this signal, exit status and core dump as usual.
    ::raise(sig);
}

}  // namespace

void install_crash_handler() {
    stack_t ss{};
    ss.ss_sp = g_alt_stack;
    ss.ss_size = sizeof(g_alt_stack);
    ::sigaltstack(&ss, nullptr);
    struct sigaction sa {};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_ONSTACK;
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
}

PluginCallRecord::PluginCallRecord(const std::string& who, const char* what) noexcept {
    const int depth = g_depth;
    if (depth < kDepth) std::snprintf(g_records[depth], kRecord, "%s: %s", who.c_str(), what ? what : "?");
    g_depth = depth + 1;  // the record is complete before it counts
}

PluginCallRecord::~PluginCallRecord() { g_depth = g_depth - 1; }

void set_crash_log(const std::filesystem::path& run_log) {
    const int old = g_log_fd;
    g_log_fd = -1;
    if (old >= 0) ::close(old);
    if (!run_log.empty()) g_log_fd = ::open(run_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

std::string crash_line(int sig) {
    char buf[512];
    return std::string(buf, format_line(sig, buf, sizeof(buf)));
}

}  // namespace cap::util
