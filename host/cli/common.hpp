// What every `cap` command shares: global options, exit codes, plugin discovery, diagnostics.
#pragma once

#include <string>
#include <vector>

#include "plugin/registry.hpp"
#include "recipe/node.hpp"

namespace cap::cli {

enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,  // the run (or a plugin check) failed
    kExitUsage = 2     // bad command line or invalid recipe; nothing was written
};

struct GlobalOptions {
    std::vector<std::string> plugin_paths;  // --plugin-path, searched before CAP_PLUGIN_PATH
};

host::PluginRegistry discover_plugins(const GlobalOptions& global);

// Prints each diagnostic as "file:line:column: error: message" on stderr.
void print_diagnostics(const std::vector<recipe::Diagnostic>& diagnostics);

// Logs (at warn) plugins that failed to load and same-folder conflicts, so they are never silent.
void report_registry_problems(const host::PluginRegistry& registry);

}  // namespace cap::cli
