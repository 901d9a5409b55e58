#include "run/manifest.hpp"

#include <torch/version.h>

#include <chrono>
#include <ctime>

#include "plugin/kind.hpp"
#include "util/sha256.hpp"

namespace cap::run {

std::string utc_now() {
    std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

nlohmann::ordered_json build_manifest(const recipe::ResolvedRecipe& recipe, const recipe::Overrides& overrides,
                                      const BackendReport& backend, const std::vector<std::string>& command_line) {
    nlohmann::ordered_json m;
    m["cap_version"] = CAP_VERSION_STRING;
    m["git_revision"] = git_revision();
    m["abi"] = std::to_string(CAP_ABI_VERSION_MAJOR) + "." + std::to_string(CAP_ABI_VERSION_MINOR);
    m["libtorch_version"] = TORCH_VERSION;
    m["created_utc"] = utc_now();
    m["command_line"] = command_line;
    m["recipe_file"] = std::filesystem::absolute(recipe.file).lexically_normal().string();
    m["recipe_sources"] = nlohmann::ordered_json::array();
    for (const auto& s : recipe.sources)
        m["recipe_sources"].push_back(std::filesystem::absolute(s).lexically_normal().string());
    m["overrides"] = {{"set", overrides.sets}, {"unset", overrides.unsets}};
    m["seed"] = recipe.seed;
    m["threads"] = backend.context.num_threads;
    m["recipe"] = recipe.tree.to_json();
    m["resolved"] = recipe.to_json();
    m["plugins"] = nlohmann::ordered_json::array();
    for (const auto* use : recipe.plugin_uses()) {
        const auto& p = *use->plugin;
        m["plugins"].push_back({{"section", use->section},
                                {"kind", host::kind_name(p.kind())},
                                {"name", p.name()},
                                {"version", p.version()},
                                {"abi", p.abi_version()},
                                {"path", std::filesystem::absolute(p.path()).string()},
                                {"sha256", util::sha256_file(p.path())}});
    }
    m["backend"] = backend.to_json();
    return m;
}

}  // namespace cap::run
