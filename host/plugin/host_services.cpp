#include "plugin/host_services.hpp"

#include <spdlog/spdlog.h>

#include "plugin/status.hpp"
#include "util/seed.hpp"

namespace cap::host {

namespace {

const char* kHostVersion = "cap " CAP_VERSION_STRING;

HostContext* context_of(const cap_host_api* host) {
    return host ? static_cast<HostContext*>(host->host_data) : nullptr;
}

void log_from_plugin(const cap_host_api* host, int32_t level, const char* message) {
    try {
        auto* ctx = context_of(host);
        const std::string label = ctx ? ctx->label() : "plugin";
        const char* text = message ? message : "";
        spdlog::level::level_enum lvl = spdlog::level::info;
        switch (level) {
            case CAP_LOG_TRACE: lvl = spdlog::level::trace; break;
            case CAP_LOG_DEBUG: lvl = spdlog::level::debug; break;
            case CAP_LOG_INFO: lvl = spdlog::level::info; break;
            case CAP_LOG_WARN: lvl = spdlog::level::warn; break;
            default: lvl = spdlog::level::err; break;
        }
        spdlog::log(lvl, "[{}] {}", label, text);
    } catch (...) {
        // Logging must never throw into a plugin.
    }
}

uint64_t seed_for_plugin(const cap_host_api* host, const char* stream) {
    auto* ctx = context_of(host);
    return util::derive_seed(ctx ? ctx->seed() : kDefaultSeed, stream);
}

// Finds a declared option of the expected type; on failure returns the status to hand back.
template <class T>
cap_status* lookup(const cap_options* options, const char* name, cap_option_type type, const T** out) {
    try {
        if (!options || !options->schema) return make_host_status(CAP_ERROR_INVALID_ARGUMENT, "null options handle");
        if (!name) return make_host_status(CAP_ERROR_INVALID_ARGUMENT, "null option name");
        const OptionSpec* spec = nullptr;
        for (const auto& s : *options->schema)
            if (s.name == name) spec = &s;
        if (!spec)
            return make_host_status(CAP_ERROR_INVALID_ARGUMENT,
                                    std::string("option '") + name + "' is not declared by " + options->owner);
        if (spec->type != type)
            return make_host_status(CAP_ERROR_INVALID_ARGUMENT,
                                    std::string("option '") + name + "' of " + options->owner + " is a " +
                                        option_type_name(spec->type) + ", not a " + option_type_name(type));
        auto it = options->values.find(name);
        if (it == options->values.end() || !std::holds_alternative<T>(it->second))
            return make_host_status(CAP_ERROR_INVALID_ARGUMENT,
                                    std::string("option '") + name + "' of " + options->owner + " has no value");
        *out = &std::get<T>(it->second);
        return nullptr;
    } catch (...) {
        return make_host_status(CAP_ERROR_INTERNAL, "option lookup failed");
    }
}

cap_status* option_bool(const cap_host_api*, const cap_options* o, const char* name, int32_t* out) {
    if (!out) return make_host_status(CAP_ERROR_INVALID_ARGUMENT, "null output pointer");
    const bool* v = nullptr;
    if (cap_status* s = lookup(o, name, CAP_OPTION_BOOL, &v)) return s;
    *out = *v ? 1 : 0;
    return nullptr;
}

cap_status* option_int(const cap_host_api*, const cap_options* o, const char* name, int64_t* out) {
    if (!out) return make_host_status(CAP_ERROR_INVALID_ARGUMENT, "null output pointer");
    const int64_t* v = nullptr;
    if (cap_status* s = lookup(o, name, CAP_OPTION_INT, &v)) return s;
    *out = *v;
    return nullptr;
}

cap_status* option_float(const cap_host_api*, const cap_options* o, const char* name, double* out) {
    if (!out) return make_host_status(CAP_ERROR_INVALID_ARGUMENT, "null output pointer");
    const double* v = nullptr;
    if (cap_status* s = lookup(o, name, CAP_OPTION_FLOAT, &v)) return s;
    *out = *v;
    return nullptr;
}

cap_status* option_string(const cap_host_api*, const cap_options* o, const char* name, const char** out) {
    if (!out) return make_host_status(CAP_ERROR_INVALID_ARGUMENT, "null output pointer");
    const std::string* v = nullptr;
    if (cap_status* s = lookup(o, name, CAP_OPTION_STRING, &v)) return s;
    *out = v->c_str();
    return nullptr;
}

cap_status* option_float_list(const cap_host_api*, const cap_options* o, const char* name, const double** out,
                              size_t* count) {
    if (!out || !count) return make_host_status(CAP_ERROR_INVALID_ARGUMENT, "null output pointer");
    const std::vector<double>* v = nullptr;
    if (cap_status* s = lookup(o, name, CAP_OPTION_FLOAT_LIST, &v)) return s;
    *out = v->data();
    *count = v->size();
    return nullptr;
}

// A status is always an error: CAP_OK or an unknown code would read as a failure without a
// kind, so they become CAP_ERROR_INTERNAL with the plugin's message kept.
cap_status* status_for_plugin(const cap_host_api*, int32_t code, const char* message) {
    const bool known = code >= CAP_ERROR_INVALID_ARGUMENT && code <= CAP_ERROR_INTERNAL;
    return make_host_status(known ? static_cast<cap_status_code>(code) : CAP_ERROR_INTERNAL, message ? message : "");
}

}  // namespace

std::unique_ptr<HostContext> make_host_context(std::string label, uint16_t abi_major, uint16_t abi_minor,
                                               uint64_t seed) {
    auto ctx = std::make_unique<HostContext>(seed);
    ctx->set_label(std::move(label));
    cap_host_api& api = ctx->api;
    api.struct_size = sizeof(cap_host_api);
    api.abi_major = abi_major;
    api.abi_minor = abi_minor;
    api.host_version = kHostVersion;
    api.host_data = ctx.get();
    api.log = log_from_plugin;
    api.seed = seed_for_plugin;
    api.option_bool = option_bool;
    api.option_int = option_int;
    api.option_float = option_float;
    api.option_string = option_string;
    api.option_float_list = option_float_list;
    api.make_status = status_for_plugin;
    return ctx;
}

}  // namespace cap::host
