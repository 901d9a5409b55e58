// The cap_host_api table the host hands each plugin library, and the options handle.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cap/abi.h"
#include "plugin/option_schema.hpp"

// The opaque cap_options of the ABI: one instance's validated values and its declared schema.
struct cap_options {
    const std::vector<cap::host::OptionSpec>* schema = nullptr;
    cap::host::OptionValues values;
    std::string owner;  // "criterion/random", for error messages
};

namespace cap::host {

// One library's view of the host: the C table plus the label its log lines carry. The label
// changes once, after the entry point named the plugin, possibly while a plugin thread logs.
class HostContext {
public:
    cap_host_api api{};
    void set_label(std::string label) {
        std::lock_guard<std::mutex> lock(mutex_);
        label_ = std::move(label);
    }
    std::string label() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return label_;
    }

private:
    mutable std::mutex mutex_;
    std::string label_;
};

// Builds the table that a library built against ABI (major, minor) is offered.
std::unique_ptr<HostContext> make_host_context(std::string label, uint16_t abi_major,
                                               uint16_t abi_minor);

// The run's seed, which host->seed() mixes with each stream name.
void set_run_seed(uint64_t seed);
uint64_t run_seed();
uint64_t derive_seed(uint64_t seed, const char* stream);

}  // namespace cap::host
