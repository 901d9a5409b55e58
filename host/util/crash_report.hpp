// Which plugin call was running when the process crashed. The host's call wrappers keep a small
// record ("criterion/x: select") for as long as a call into a plugin lasts; a handler for SIGSEGV,
// SIGBUS, SIGFPE, SIGILL and SIGABRT that only write()s prints it to stderr and appends it to the
// run's run.log, then lets the process die with the signal as it would have. Everything the
// handler touches is preformatted, fixed-size storage: nothing in it allocates or locks.
#pragma once

#include <filesystem>
#include <string>

namespace cap::util {

// Installs the handlers (and an alternate stack, so a stack overflow is reported too). Once,
// early in main().
void install_crash_handler();

// Marks one call into a plugin for the lifetime of the object: `who` is the plugin's label,
// `what` the entry being called. Nests (up to 8 deep); cheap enough for every call of every step.
class PluginCallRecord {
public:
    PluginCallRecord(const std::string& who, const char* what) noexcept;
    ~PluginCallRecord();
    PluginCallRecord(const PluginCallRecord&) = delete;
    PluginCallRecord& operator=(const PluginCallRecord&) = delete;
};

// The run.log the handler appends to; an empty path stops that (util/logging.hpp's ScopedLogFile
// sets and clears it).
void set_crash_log(const std::filesystem::path& run_log);

// The line the handler writes for `signal` inside the innermost recorded call, without the
// newline; "" outside any plugin call. For tests; the handler builds the same line itself.
std::string crash_line(int signal);

}  // namespace cap::util
