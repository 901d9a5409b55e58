// The host's logger: stderr always, and the run's run.log once a run directory exists.
// Plugins log into the same logger through the host services table.
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <string>

namespace cap::util {

void init_logging(spdlog::level::level_enum console_level);
// A log file (appended; every level from debug up) for one scope (one run of a sweep): attached on construction,
// detached on destruction.
class ScopedLogFile {
public:
    explicit ScopedLogFile(const std::filesystem::path& file);
    ~ScopedLogFile();
    ScopedLogFile(const ScopedLogFile&) = delete;
    ScopedLogFile& operator=(const ScopedLogFile&) = delete;

private:
    std::shared_ptr<spdlog::sinks::sink> sink_;
};
spdlog::level::level_enum parse_log_level(const std::string& name);  // throws on unknown names

}  // namespace cap::util
