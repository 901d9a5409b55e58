// Plugin discovery. Folders are searched in order: every --plugin-path, then each entry of
// CAP_PLUGIN_PATH (colon-separated), then the plugins installed next to `cap`
// (<bin>/../lib/cap/plugins). Every *.so in those folders is loaded and checked.
//
// Same kind and name twice: the folder that comes first in the search order wins and the
// others are listed as shadowed (so a folder given on the command line can override a built-in
// plugin). Twice in the same folder there is no order to decide by: that is a conflict, and
// using the plugin is an error naming both files.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plugin/library.hpp"

namespace cap::host {

struct RejectedPlugin {
    std::filesystem::path path;
    std::string step;  // the load step that failed
    std::string error;
};

struct ShadowedPlugin {
    std::string label;
    std::filesystem::path used, ignored;
};

// The folder of plugins installed with this executable.
std::filesystem::path builtin_plugin_dir();

// --plugin-path folders, then CAP_PLUGIN_PATH, then builtin_plugin_dir().
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& cli_dirs);

class PluginRegistry {
public:
    static PluginRegistry discover(const std::vector<std::filesystem::path>& search_path, const AbiPolicy& policy = {});

    // Usable plugins, sorted by kind then name.
    const std::vector<std::shared_ptr<const PluginLibrary>>& plugins() const { return plugins_; }
    const std::vector<RejectedPlugin>& rejected() const { return rejected_; }
    const std::vector<ShadowedPlugin>& shadowed() const { return shadowed_; }
    // label -> files that provide it from the same folder
    const std::map<std::string, std::vector<std::filesystem::path>>& conflicts() const { return conflicts_; }
    const std::vector<std::filesystem::path>& search_path() const { return search_path_; }

    // The plugin, or nullptr when none has that kind and name. Throws std::runtime_error naming
    // both files when the name is in conflict.
    std::shared_ptr<const PluginLibrary> find(cap_plugin_kind kind, const std::string& name) const;
    std::vector<std::string> names(cap_plugin_kind kind) const;

private:
    std::vector<std::filesystem::path> search_path_;
    std::vector<std::shared_ptr<const PluginLibrary>> plugins_;
    std::vector<RejectedPlugin> rejected_;
    std::vector<ShadowedPlugin> shadowed_;
    std::map<std::string, std::vector<std::filesystem::path>> conflicts_;
};

}  // namespace cap::host
