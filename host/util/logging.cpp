#include "util/logging.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>
#include <stdexcept>

#include "util/crash_report.hpp"

namespace cap::util {

namespace {
std::shared_ptr<spdlog::sinks::dist_sink_mt> g_sinks;
}

void init_logging(spdlog::level::level_enum console_level) {
    g_sinks = std::make_shared<spdlog::sinks::dist_sink_mt>();
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_level(console_level);
    console->set_pattern("[%H:%M:%S] %^%-5l%$ %v");
    g_sinks->add_sink(console);
    auto logger = std::make_shared<spdlog::logger>("cap", g_sinks);
    logger->set_level(std::min(console_level, spdlog::level::debug));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

namespace {
std::shared_ptr<spdlog::sinks::sink> attach_file(const std::filesystem::path& file) {
    if (!g_sinks) init_logging(spdlog::level::info);
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string());
    sink->set_level(spdlog::level::debug);
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l %v");
    g_sinks->add_sink(sink);
    return sink;
}
}  // namespace

// The crash handler appends to the same file (util/crash_report.hpp).
ScopedLogFile::ScopedLogFile(const std::filesystem::path& file) : sink_(attach_file(file)) { set_crash_log(file); }

ScopedLogFile::~ScopedLogFile() {
    set_crash_log({});
    sink_->flush();
    if (g_sinks) g_sinks->remove_sink(sink_);
}

spdlog::level::level_enum parse_log_level(const std::string& name) {
    for (auto level :
         {spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err})
        if (name == spdlog::level::to_string_view(level) || (level == spdlog::level::err && name == "error") ||
            (level == spdlog::level::warn && name == "warn"))
            return level;
    throw std::invalid_argument("unknown log level '" + name + "' (trace, debug, info, warn, error)");
}

}  // namespace cap::util
