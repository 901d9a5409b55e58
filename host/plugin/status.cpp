#include "plugin/status.hpp"

#include <new>

namespace cap::host {

const char* status_code_name(int32_t code) {
    switch (code) {
        case CAP_OK: return "ok";
        case CAP_ERROR_INVALID_ARGUMENT: return "invalid argument";
        case CAP_ERROR_UNSUPPORTED: return "unsupported";
        case CAP_ERROR_UNAVAILABLE: return "unavailable";
        case CAP_ERROR_OUT_OF_MEMORY: return "out of memory";
        case CAP_ERROR_VERSION: return "version mismatch";
        case CAP_ERROR_INTERNAL: return "internal error";
        default: return "unknown error code";
    }
}

std::string take_status_message(cap_status* status) {
    if (!status) return "";
    std::string message = status->message && *status->message ? status->message : "(no message)";
    if (status->release) status->release(status);
    return message;
}

void check_status(cap_status* status, const std::string& context) {
    if (!status) return;
    const int32_t code = status->code;
    std::string message = take_status_message(status);
    throw PluginError(context + ": " + message + " [" + status_code_name(code) + "]", code);
}

namespace {
struct HostStatus {
    cap_status base;
    std::string message;
};
}  // namespace

cap_status* make_host_status(cap_status_code code, const std::string& message) noexcept {
    try {
        auto* s = new HostStatus{};
        s->message = message;
        s->base.struct_size = sizeof(cap_status);
        s->base.code = code;
        s->base.message = s->message.c_str();
        s->base.release = [](cap_status* self) { delete reinterpret_cast<HostStatus*>(self); };
        return &s->base;
    } catch (...) {
        static cap_status oom = {sizeof(cap_status), CAP_ERROR_OUT_OF_MEMORY, "out of memory", [](cap_status*) {}};
        return &oom;
    }
}

}  // namespace cap::host
