#include "plugin/registry.hpp"

#define BOOST_DLL_USE_STD_FS
#include <spdlog/spdlog.h>
#include <boost/dll/runtime_symbol_info.hpp>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>

#include "plugin/kind.hpp"

#ifndef CAP_PLUGIN_DIR_RELATIVE
#define CAP_PLUGIN_DIR_RELATIVE "lib/cap/plugins"
#endif

namespace fs = std::filesystem;

namespace cap::host {

fs::path builtin_plugin_dir() {
    fs::path exe = boost::dll::program_location();
    return (exe.parent_path().parent_path() / CAP_PLUGIN_DIR_RELATIVE).lexically_normal();
}

std::vector<fs::path> plugin_search_path(const std::vector<std::string>& cli_dirs) {
    std::vector<fs::path> out;
    for (const auto& d : cli_dirs) out.emplace_back(d);
    if (const char* env = std::getenv("CAP_PLUGIN_PATH")) {
        std::stringstream in(env);
        std::string item;
        while (std::getline(in, item, ':'))
            if (!item.empty()) out.emplace_back(item);
    }
    out.push_back(builtin_plugin_dir());
    return out;
}

PluginRegistry PluginRegistry::discover(const std::vector<fs::path>& search_path, const AbiPolicy& policy) {
    PluginRegistry reg;
    reg.search_path_ = search_path;
    std::map<std::string, std::shared_ptr<const PluginLibrary>> chosen;  // label -> winner
    std::set<fs::path> visited;
    for (const auto& dir : search_path) {
        std::error_code ec;
        fs::path canonical = fs::weakly_canonical(dir, ec);
        if (!fs::is_directory(dir, ec)) {
            spdlog::debug("plugin folder {} does not exist; skipped", dir.string());
            continue;
        }
        if (!visited.insert(canonical).second) continue;  // the same folder twice adds nothing
        std::vector<fs::path> files;
        fs::directory_iterator it(dir, ec), end;
        for (; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec) && it->path().extension() == ".so") files.push_back(it->path());
        if (ec) spdlog::warn("cannot list plugin folder {}: {}", dir.string(), ec.message());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            std::shared_ptr<const PluginLibrary> lib;
            try {
                lib = PluginLibrary::load(file, policy);
            } catch (const PluginLoadError& e) {
                reg.rejected_.push_back({file, e.step(), e.what()});
                continue;
            }
            const std::string label = lib->label();
            if (auto it = chosen.find(label); it != chosen.end()) {
                if (it->second->path().parent_path() == file.parent_path()) {
                    auto& c = reg.conflicts_[label];
                    if (c.empty()) c.push_back(it->second->path());
                    c.push_back(file);
                } else {
                    reg.shadowed_.push_back({label, it->second->path(), file});
                }
                continue;
            }
            chosen[label] = lib;
        }
    }
    for (auto& [label, lib] : chosen) reg.plugins_.push_back(lib);
    std::sort(reg.plugins_.begin(), reg.plugins_.end(), [](const auto& a, const auto& b) {
        return std::make_pair(static_cast<int>(a->kind()), a->name()) <
               std::make_pair(static_cast<int>(b->kind()), b->name());
    });
    return reg;
}

std::shared_ptr<const PluginLibrary> PluginRegistry::find(cap_plugin_kind kind, const std::string& name) const {
    const std::string label = kind_name(kind) + "/" + name;
    if (auto c = conflicts_.find(label); c != conflicts_.end()) {
        std::string files;
        for (const auto& f : c->second) files += (files.empty() ? "" : " and ") + f.string();
        throw std::runtime_error("plugin " + label + " is provided twice in one folder (" + files +
                                 "); remove one of them");
    }
    for (const auto& p : plugins_)
        if (p->kind() == kind && p->name() == name) return p;
    return nullptr;
}

std::vector<std::string> PluginRegistry::names(cap_plugin_kind kind) const {
    std::vector<std::string> out;
    for (const auto& p : plugins_)
        if (p->kind() == kind) out.push_back(p->name());
    return out;
}

}  // namespace cap::host
