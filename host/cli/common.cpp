#include "cli/common.hpp"

#include <spdlog/spdlog.h>

#include <iostream>

namespace cap::cli {

host::PluginRegistry discover_plugins(const GlobalOptions& global) {
    for (const auto& d : global.plugin_paths)
        if (!std::filesystem::is_directory(d)) spdlog::warn("--plugin-path {}: not a folder", d);
    return host::PluginRegistry::discover(host::plugin_search_path(global.plugin_paths));
}

void print_diagnostics(const std::vector<recipe::Diagnostic>& diagnostics) {
    for (const auto& d : diagnostics) std::cerr << d.str() << "\n";
    std::cerr << diagnostics.size() << (diagnostics.size() == 1 ? " error" : " errors") << "\n";
}

void report_registry_problems(const host::PluginRegistry& registry) {
    for (const auto& r : registry.rejected()) spdlog::warn("plugin rejected: {}", r.error);
    for (const auto& [label, files] : registry.conflicts()) {
        std::string all;
        for (const auto& f : files) all += (all.empty() ? "" : ", ") + f.string();
        spdlog::warn("plugin {} is provided more than once in one folder: {}", label, all);
    }
    // Overriding a built-in on purpose is allowed, but a run should never do it silently.
    for (const auto& s : registry.shadowed())
        spdlog::warn("plugin {} from {} shadows the one in {}: this run uses {}", s.label, s.used.string(),
                     s.ignored.string(), s.used.string());
}

}  // namespace cap::cli
