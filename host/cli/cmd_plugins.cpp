#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "plugin/backend_plugin.hpp"
#include "plugin/kind.hpp"

namespace cap::cli {

namespace {

nlohmann::ordered_json option_json(const host::OptionSpec& o) {
    nlohmann::ordered_json j;
    j["name"] = o.name;
    j["type"] = host::option_type_name(o.type);
    j["required"] = o.required;
    if (o.default_value) std::visit([&](const auto& v) { j["default"] = v; }, *o.default_value);
    if (o.min) j["min"] = *o.min;
    if (o.max) j["max"] = *o.max;
    if (!o.choices.empty()) j["choices"] = o.choices;
    if (o.path) j["path"] = true;
    j["doc"] = o.doc;
    return j;
}

// "" when available (or not a backend), else why not.
std::string availability(const host::PluginLibrary& lib) {
    if (lib.kind() != CAP_KIND_BACKEND) return "";
    try {
        auto probe = host::probe_backend(lib, host::defaults_of(lib.options()));
        return probe.available ? "" : probe.reason;
    } catch (const std::exception& e) {
        return std::string("probe failed: ") + e.what();
    }
}

std::string option_line(const host::OptionSpec& o) {
    std::string head = "    " + o.name + " (" + host::option_type_name(o.type);
    head += o.required ? ", required" : ", default " + host::format_value(*o.default_value);
    if (std::string range = host::format_range(o); !range.empty()) head += ", range " + range;
    if (!o.choices.empty()) {
        std::string all;
        for (const auto& c : o.choices) all += (all.empty() ? "" : "|") + c;
        head += ", one of " + all;
    }
    if (o.path) head += ", existing path";
    return head + ")\n        " + o.doc;
}

}  // namespace

int cmd_plugins(const GlobalOptions& global, bool json) {
    host::PluginRegistry registry = discover_plugins(global);
    if (json) {
        nlohmann::ordered_json out;
        out["abi"] = std::to_string(CAP_ABI_VERSION_MAJOR) + "." + std::to_string(CAP_ABI_VERSION_MINOR);
        out["search_path"] = nlohmann::ordered_json::array();
        for (const auto& d : registry.search_path()) out["search_path"].push_back(d.string());
        out["plugins"] = nlohmann::ordered_json::array();
        for (const auto& p : registry.plugins()) {
            nlohmann::ordered_json j;
            j["kind"] = host::kind_name(p->kind());
            j["name"] = p->name();
            j["version"] = p->version();
            j["abi"] = p->abi_version();
            j["path"] = p->path().string();
            j["summary"] = p->summary();
            if (p->kind() == CAP_KIND_BACKEND) {
                std::string why = availability(*p);
                j["available"] = why.empty();
                if (!why.empty()) j["unavailable_reason"] = why;
            }
            j["options"] = nlohmann::ordered_json::array();
            for (const auto& o : p->options()) j["options"].push_back(option_json(o));
            out["plugins"].push_back(j);
        }
        out["rejected"] = nlohmann::ordered_json::array();
        for (const auto& r : registry.rejected())
            out["rejected"].push_back({{"path", r.path.string()}, {"step", r.step}, {"error", r.error}});
        out["shadowed"] = nlohmann::ordered_json::array();
        for (const auto& s : registry.shadowed())
            out["shadowed"].push_back(
                {{"plugin", s.label}, {"used", s.used.string()}, {"ignored", s.ignored.string()}});
        out["conflicts"] = nlohmann::ordered_json::object();
        for (const auto& [label, files] : registry.conflicts()) {
            out["conflicts"][label] = nlohmann::ordered_json::array();
            for (const auto& f : files) out["conflicts"][label].push_back(f.string());
        }
        std::cout << out.dump(2) << "\n";
        return kExitOk;
    }

    std::cout << "cap plugin ABI " << CAP_ABI_VERSION_MAJOR << "." << CAP_ABI_VERSION_MINOR << "; searched:";
    for (const auto& d : registry.search_path()) std::cout << " " << d.string();
    std::cout << "\n";
    if (registry.plugins().empty()) std::cout << "\nno plugins found\n";
    for (const auto& p : registry.plugins()) {
        std::cout << "\n"
                  << p->label() << " " << p->version() << " (ABI " << p->abi_version() << ")  " << p->summary() << "\n";
        std::cout << "    file: " << p->path().string() << "\n";
        if (std::string why = availability(*p); !why.empty()) std::cout << "    unavailable: " << why << "\n";
        for (const auto& o : p->options()) std::cout << option_line(o) << "\n";
    }
    for (const auto& s : registry.shadowed())
        std::cout << "\nshadowed: " << s.label << " in " << s.ignored.string() << " (using " << s.used.string()
                  << ")\n";
    for (const auto& [label, files] : registry.conflicts()) {
        std::cout << "\nconflict: " << label << " is provided by";
        for (const auto& f : files) std::cout << " " << f.string();
        std::cout << " (same folder: remove one)\n";
    }
    for (const auto& r : registry.rejected()) std::cout << "\nrejected (" << r.step << "): " << r.error << "\n";
    return kExitOk;
}

}  // namespace cap::cli
