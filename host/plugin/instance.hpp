// One plugin instance: created from validated options, destroyed with the object. It holds
// its library, so the code it runs stays loaded as long as it lives.
#pragma once

#include <memory>
#include <string>

#include "plugin/host_services.hpp"
#include "plugin/library.hpp"
#include "plugin/status.hpp"
#include "util/crash_report.hpp"

namespace cap::host {

// The options handle create() and probe() receive: the values plus the plugin's schema.
cap_options make_options(const PluginLibrary& library, OptionValues values);

// A zeroed ABI struct with struct_size set: what the host passes in or offers for output.
template <class T>
T blank_struct() {
    T value{};
    value.struct_size = sizeof(T);
    return value;
}

class PluginInstance {
public:
    // Calls the plugin's create() with a host table of its own whose seed() mixes `seed` (the
    // run's); throws PluginError naming the plugin on failure.
    PluginInstance(std::shared_ptr<const PluginLibrary> library, OptionValues values, uint64_t seed = kDefaultSeed);
    ~PluginInstance();
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;

    const PluginLibrary& library() const { return *library_; }
    void* handle() const { return handle_; }
    std::string label() const { return library_->label(); }
    const OptionValues& values() const { return options_->values; }
    // The host table create() received: this instance's services (its seed() is its run's).
    const cap_host_api* host_api() const { return &host_->api; }

    // Table of the expected kind; throws if the library is of another kind.
    template <class Table>
    const Table& table(cap_plugin_kind expected) const {
        require_kind(expected);
        return library_->table<Table>();
    }
    // True when the plugin's table reaches the entry at `offset` (older plugins have smaller
    // tables: an entry appended later is absent for them) and that entry is not NULL.
    bool has_entry(size_t offset) const;

    // Runs one call into the plugin: a returned status becomes PluginError("<label>: <what>:
    // ..."), and a C++ exception that escaped the plugin (an ABI violation) is contained.
    template <class F>
    void call(const char* what, F&& f) const {
        cap_status* status = nullptr;
        try {
            const util::PluginCallRecord record(label(), what);  // named by the crash handler
            status = f();
        } catch (...) {
            throw_escaped_exception(what);
        }
        check_call(status, what);
    }

private:
    void require_kind(cap_plugin_kind expected) const;
    [[noreturn]] void throw_escaped_exception(const char* what) const;
    void check_call(cap_status* status, const char* what) const;

    std::shared_ptr<const PluginLibrary> library_;
    std::unique_ptr<HostContext> host_;  // create() was promised it stays valid until destroy()
    std::unique_ptr<cap_options> options_;
    void* handle_ = nullptr;
};

}  // namespace cap::host
