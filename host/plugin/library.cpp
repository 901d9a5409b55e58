#include "plugin/library.hpp"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstring>
#include <set>

#include "plugin/host_services.hpp"
#include "plugin/kind.hpp"
#include "plugin/status.hpp"

namespace cap::host {

namespace {

// Boost.DLL wraps dlerror() as "boost::dll::shared_library::load() failed (dlerror system
// message: FILE: REASON): <errno text>", and the errno text is stale (often "Bad file
// descriptor"). The user gets dlerror's REASON in cap's words.
std::string load_failure(const std::string& file, const std::string& what) {
    const std::string marker = "dlerror system message: ";
    std::string reason = what;
    if (const size_t at = what.find(marker); at != std::string::npos) {
        reason = what.substr(at + marker.size());
        if (const size_t end = reason.rfind("): "); end != std::string::npos) reason.erase(end);
        if (reason.rfind(file + ": ", 0) == 0) reason.erase(0, file.size() + 2);
    }
    // What dlopen says of a file that is not an ELF shared object of this machine.
    for (const char* not_a_library : {"file too short", "invalid ELF header", "only ET_DYN and ET_EXEC can be loaded",
                                      "wrong ELF class", "ELF file's phentsize not the expected size"})
        if (reason.find(not_a_library) != std::string::npos) return file + ": not a shared library (" + reason + ")";
    return "cannot load plugin " + file + ": " + reason;
}

std::string version_string(uint16_t major, uint16_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

bool valid_plugin_name(const std::string& name) {
    if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

// Bytes of the descriptor a 1.0 plugin fills: everything up to and including `functions`.
constexpr size_t kDescriptorV1Size =
    offsetof(cap_plugin_descriptor, functions) + sizeof(((cap_plugin_descriptor*)0)->functions);

constexpr size_t kOptionSpecV1Size = offsetof(cap_option_spec, choices) + sizeof(((cap_option_spec*)0)->choices);

}  // namespace

const std::vector<std::string>& load_steps() {
    static const std::vector<std::string> steps = {"open library", "entry point", "entry call",    "descriptor",
                                                   "ABI version",  "identity",    "option schema", "function table"};
    return steps;
}

std::string PluginLibrary::abi_version() const { return version_string(abi_major_, abi_minor_); }
std::string PluginLibrary::label() const { return kind_name(kind_) + "/" + name_; }
const cap_host_api* PluginLibrary::host_api() const { return &host_->api; }

PluginLibrary::~PluginLibrary() = default;

std::shared_ptr<PluginLibrary> PluginLibrary::load(const std::filesystem::path& path, const AbiPolicy& policy) {
    const std::string file = path.string();
    std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
    lib->path_ = path;
    lib->host_ = make_host_context(path.filename().string(), policy.major, policy.minor);

    // Symbols are resolved now, so a plugin with a missing dependency fails here, not mid-run.
    try {
        lib->library_ = std::make_unique<boost::dll::shared_library>(
            path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        throw PluginLoadError("open library", load_failure(file, e.what()));
    }
    if (!lib->library_->has(CAP_PLUGIN_ENTRY_SYMBOL))
        throw PluginLoadError("entry point",
                              file + " is not a cap plugin: it does not export " + CAP_PLUGIN_ENTRY_SYMBOL);
    auto entry = reinterpret_cast<cap_plugin_entry_fn>(lib->library_->get<void()>(CAP_PLUGIN_ENTRY_SYMBOL));

    const cap_plugin_descriptor* desc = nullptr;
    cap_status* status = nullptr;
    try {
        status = entry(&lib->host_->api, &desc);
    } catch (...) {
        throw PluginLoadError("entry call", "plugin " + file +
                                                " threw a C++ exception out of its entry point "
                                                "(a bug in the plugin: errors must be statuses)");
    }
    if (status)
        throw PluginLoadError("entry call", "plugin " + file + " refused to load: " + take_status_message(status));
    if (!desc) throw PluginLoadError("entry call", "plugin " + file + " returned no descriptor and no reason");

    // struct_size, abi_major and abi_minor keep their place in every ABI major version.
    if (desc->struct_size < offsetof(cap_plugin_descriptor, kind))
        throw PluginLoadError("descriptor", "plugin " + file + " has a malformed descriptor (struct_size " +
                                                std::to_string(desc->struct_size) + ")");
    lib->abi_major_ = desc->abi_major;
    lib->abi_minor_ = desc->abi_minor;
    const std::string built = version_string(desc->abi_major, desc->abi_minor);
    const std::string host = version_string(policy.major, policy.minor);
    if (desc->abi_major != policy.major)
        throw PluginLoadError("ABI version", "plugin " + file + " was built for cap ABI " + built +
                                                 ", but this host implements ABI " + host +
                                                 " (major versions must match); rebuild it against this SDK");
    if (desc->abi_minor < policy.oldest_minor)
        throw PluginLoadError("ABI version", "plugin " + file + " was built for cap ABI " + built +
                                                 ", older than the oldest this host supports (" +
                                                 version_string(policy.major, policy.oldest_minor) +
                                                 "; the host implements " + host + "); rebuild it against this SDK");
    if (desc->struct_size < kDescriptorV1Size)
        throw PluginLoadError("descriptor", "plugin " + file + " (ABI " + built + ") has a descriptor of " +
                                                std::to_string(desc->struct_size) + " bytes; ABI 1.0 needs " +
                                                std::to_string(kDescriptorV1Size));
    // Copy what both sides know; fields a newer plugin appended are ignored.
    std::memcpy(&lib->descriptor_, desc, std::min<size_t>(desc->struct_size, sizeof(cap_plugin_descriptor)));

    const auto& d = lib->descriptor_;
    auto kinds = all_kinds();
    if (std::find(kinds.begin(), kinds.end(), static_cast<cap_plugin_kind>(d.kind)) == kinds.end())
        throw PluginLoadError("identity", "plugin " + file + " declares unknown kind " + std::to_string(d.kind));
    lib->kind_ = static_cast<cap_plugin_kind>(d.kind);
    lib->name_ = d.name ? d.name : "";
    lib->version_ = d.version ? d.version : "";
    lib->summary_ = d.summary ? d.summary : "";
    if (!valid_plugin_name(lib->name_))
        throw PluginLoadError(
            "identity", "plugin " + file + " has an invalid name '" + lib->name_ + "' (expected [a-z][a-z0-9_]*)");
    if (lib->version_.empty())
        throw PluginLoadError("identity", "plugin " + file + " (" + lib->label() + ") declares no version");
    if (lib->summary_.empty() || lib->summary_.find('\n') != std::string::npos)
        throw PluginLoadError("identity", "plugin " + file + " (" + lib->label() + ") needs a one-line summary");
    lib->host_->set_label(lib->label());

    if (d.num_options > 0 && !d.options)
        throw PluginLoadError("option schema",
                              "plugin " + file + " (" + lib->label() + ") declares options but no option array");
    std::set<std::string> seen;
    for (uint32_t i = 0; i < d.num_options; ++i) {
        const cap_option_spec* raw = d.options[i];
        if (!raw || raw->struct_size < kOptionSpecV1Size)
            throw PluginLoadError("option schema", "plugin " + file + " (" + lib->label() + ") option #" +
                                                       std::to_string(i) + " is missing or malformed");
        cap_option_spec copy{};
        std::memcpy(&copy, raw, std::min<size_t>(raw->struct_size, sizeof(copy)));
        OptionSpec spec = OptionSpec::from_c(copy);
        std::string problem = schema_problem(spec);
        if (problem.empty() && !seen.insert(spec.name).second) problem = "option '" + spec.name + "' is declared twice";
        if (problem.empty() && spec.name == "plugin") problem = "option name 'plugin' is reserved for the host";
        if (!problem.empty())
            throw PluginLoadError("option schema", "plugin " + file + " (" + lib->label() + "): " + problem);
        lib->options_.push_back(std::move(spec));
    }

    const std::string who = "plugin " + file + " (" + lib->label() + ")";
    if (!d.create || !d.destroy)
        throw PluginLoadError("function table", who + ": descriptor function '" +
                                                    std::string(!d.create ? "create" : "destroy") + "' is NULL");
    if (!d.functions)
        throw PluginLoadError("function table", who + ": the " + kind_name(lib->kind_) + " function table is NULL");
    const uint32_t table_size = lib->table_size();
    for (const auto& entry_spec : required_entries(lib->kind_)) {
        if (table_size < entry_spec.offset + sizeof(void*))
            throw PluginLoadError("function table", who + ": its " + kind_name(lib->kind_) + " table (" +
                                                        std::to_string(table_size) +
                                                        " bytes) lacks required function '" + entry_spec.name + "'");
        void* fn = nullptr;
        std::memcpy(&fn, static_cast<const char*>(d.functions) + entry_spec.offset, sizeof(fn));
        if (!fn)
            throw PluginLoadError("function table",
                                  who + ": required function '" + std::string(entry_spec.name) + "' is NULL");
    }
    return lib;
}

}  // namespace cap::host
