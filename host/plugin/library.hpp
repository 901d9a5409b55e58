// One loaded plugin library: the shared object (Boost.DLL), its descriptor checked against the
// ABI, and the host table it was given. Instances hold a shared_ptr to it, so a library stays
// loaded while anything it created is alive.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cap/cap.h"
#include "plugin/option_schema.hpp"

namespace boost::dll {
class shared_library;
}

namespace cap::host {

class HostContext;

// The ABI range this host accepts: same major, minor in [oldest_minor, minor]; plugins built
// for a newer minor are accepted too (they must not use what this host lacks).
struct AbiPolicy {
    uint16_t major = CAP_ABI_VERSION_MAJOR;
    uint16_t minor = CAP_ABI_VERSION_MINOR;
    uint16_t oldest_minor = 0;
};

// Why a library was rejected, and at which step of loading.
class PluginLoadError : public std::runtime_error {
public:
    PluginLoadError(std::string step, const std::string& message)
        : std::runtime_error(message), step_(std::move(step)) {}
    const std::string& step() const { return step_; }

private:
    std::string step_;
};

// The load steps in order, as `cap check-plugin` reports them.
const std::vector<std::string>& load_steps();

class PluginLibrary {
public:
    // Loads and checks `path`; throws PluginLoadError naming the file (and versions, where
    // they are the reason).
    static std::shared_ptr<PluginLibrary> load(const std::filesystem::path& path, const AbiPolicy& policy = {});
    ~PluginLibrary();
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;

    const std::filesystem::path& path() const { return path_; }
    cap_plugin_kind kind() const { return kind_; }
    const std::string& name() const { return name_; }
    const std::string& version() const { return version_; }
    const std::string& summary() const { return summary_; }
    uint16_t abi_major() const { return abi_major_; }
    uint16_t abi_minor() const { return abi_minor_; }
    std::string abi_version() const;
    std::string label() const;  // "criterion/random"
    const std::vector<OptionSpec>& options() const { return options_; }

    const cap_host_api* host_api() const;
    const cap_plugin_descriptor& descriptor() const { return descriptor_; }
    // The kind's table; the caller knows its type from kind().
    template <class Table>
    const Table& table() const {
        return *static_cast<const Table*>(descriptor_.functions);
    }
    // Size the plugin declared for its table (append-only: older plugins have smaller ones).
    uint32_t table_size() const { return *static_cast<const uint32_t*>(descriptor_.functions); }

private:
    PluginLibrary() = default;

    std::filesystem::path path_;
    // Declared before the library so that it is destroyed after the library is unloaded.
    std::unique_ptr<HostContext> host_;
    std::unique_ptr<boost::dll::shared_library> library_;
    cap_plugin_descriptor descriptor_{};
    cap_plugin_kind kind_ = CAP_KIND_BACKEND;
    std::string name_, version_, summary_;
    uint16_t abi_major_ = 0, abi_minor_ = 0;
    std::vector<OptionSpec> options_;
};

}  // namespace cap::host
