// Host side of cap_status: release through the library that made it, turn into exceptions
// with context, and make statuses for host services that fail.
#pragma once

#include <stdexcept>
#include <string>

#include "cap/abi.h"

namespace cap::host {

// A failure inside a plugin call; the message names the plugin and the call.
class PluginError : public std::runtime_error {
public:
    PluginError(const std::string& message, int32_t code) : std::runtime_error(message), code_(code) {}
    int32_t code() const noexcept { return code_; }

private:
    int32_t code_;
};

const char* status_code_name(int32_t code);

// Releases `status` (if any) and throws PluginError("<context>: <message>") when it is set.
void check_status(cap_status* status, const std::string& context);

// The message of `status` (released afterwards), or "" when status is NULL.
std::string take_status_message(cap_status* status);

// A status allocated by the host, for host services called by plugins.
cap_status* make_host_status(cap_status_code code, const std::string& message) noexcept;

}  // namespace cap::host
