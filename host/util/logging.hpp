// The host's logger: stderr always, and the run's run.log once a run directory exists.
// Plugins log into the same logger through the host services table.
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <string>

namespace cap::util {

void init_logging(spdlog::level::level_enum console_level);
void add_log_file(const std::filesystem::path& file);  // appends; every level from debug up
spdlog::level::level_enum parse_log_level(const std::string& name);  // throws on unknown names

}  // namespace cap::util
