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

// A plugin's view of the host: the C table plus the label its log lines carry and the seed its
// seed() calls mix. Each library gets one for its entry point (seed: kDefaultSeed), and each
// instance its own (seed: the run's), so runs resolved one after another never share a seed
// through process state. The label changes once, after the entry point named the plugin,
// possibly while a plugin thread logs.
class HostContext {
public:
    explicit HostContext(uint64_t seed) : seed_(seed) {}
    cap_host_api api{};
    uint64_t seed() const { return seed_; }
    void set_label(std::string label) {
        std::lock_guard<std::mutex> lock(mutex_);
        label_ = std::move(label);
    }
    std::string label() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return label_;
    }

private:
    const uint64_t seed_;
    mutable std::mutex mutex_;
    std::string label_;
};

// The seed a plugin sees outside any run (at load, in `cap plugins` and `check-plugin`).
constexpr uint64_t kDefaultSeed = 42;

// Builds the table offered to a plugin built against ABI (major, minor); host->seed() mixes
// `seed` with each stream name.
std::unique_ptr<HostContext> make_host_context(std::string label, uint16_t abi_major, uint16_t abi_minor,
                                               uint64_t seed = kDefaultSeed);

}  // namespace cap::host
