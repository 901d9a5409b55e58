#include "plugin/option_schema.hpp"

#include <cmath>
#include <sstream>

namespace cap::host {

namespace {

bool valid_name(const std::string& name) {
    if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

std::string format_number(double v) {
    std::ostringstream s;
    s.precision(15);
    s << v;
    std::string out = s.str();
    if (out.find_first_of(".eEn") == std::string::npos) out += ".0";
    return out;
}

std::string format_bound(double v) {
    std::ostringstream s;
    s.precision(15);
    s << v;
    return s.str();
}

}  // namespace

OptionSpec OptionSpec::from_c(const cap_option_spec& c) {
    OptionSpec s;
    s.name = c.name ? c.name : "";
    s.type = static_cast<cap_option_type>(c.type);
    s.doc = c.doc ? c.doc : "";
    s.required = (c.flags & CAP_OPTION_REQUIRED) != 0;
    s.path = (c.flags & CAP_OPTION_PATH) != 0;
    if (c.flags & CAP_OPTION_HAS_MIN) s.min = c.min_value;
    if (c.flags & CAP_OPTION_HAS_MAX) s.max = c.max_value;
    if (c.type == CAP_OPTION_STRING && c.choices)
        for (const char* const* p = c.choices; *p; ++p) s.choices.emplace_back(*p);
    if (!s.required) {
        switch (c.type) {
            case CAP_OPTION_BOOL: s.default_value = c.default_bool != 0; break;
            case CAP_OPTION_INT: s.default_value = c.default_int; break;
            case CAP_OPTION_FLOAT: s.default_value = c.default_float; break;
            case CAP_OPTION_STRING: s.default_value = std::string(c.default_string ? c.default_string : ""); break;
            case CAP_OPTION_FLOAT_LIST:
                s.default_value = c.default_list
                                      ? std::vector<double>(c.default_list, c.default_list + c.default_list_count)
                                      : std::vector<double>{};
                break;
            default: break;
        }
    }
    return s;
}

std::string schema_problem(const OptionSpec& spec) {
    if (!valid_name(spec.name)) return "option name '" + spec.name + "' is not [a-z][a-z0-9_]*";
    if (spec.type < CAP_OPTION_BOOL || spec.type > CAP_OPTION_FLOAT_LIST)
        return "option '" + spec.name + "' has unknown type " + std::to_string(spec.type);
    if (spec.doc.empty()) return "option '" + spec.name + "' has no doc line";
    if (spec.doc.find('\n') != std::string::npos) return "option '" + spec.name + "' doc is not one line";
    if (spec.min && spec.max && *spec.min > *spec.max) return "option '" + spec.name + "' has min > max";
    if (spec.path && spec.type != CAP_OPTION_STRING) return "option '" + spec.name + "' is a path but not a string";
    if (spec.path && spec.default_value && !std::get<std::string>(*spec.default_value).empty())
        return "option '" + spec.name +
               "' is a path with a non-empty default (a path default could only be "
               "relative to nothing; use \"\" for 'no file')";
    if (!spec.default_value) return "";
    auto in_range = [&](double v) {
        return !std::isnan(v) && (!spec.min || v >= *spec.min) && (!spec.max || v <= *spec.max);
    };
    const auto& d = *spec.default_value;
    if (auto i = std::get_if<int64_t>(&d); i && !in_range(static_cast<double>(*i)))
        return "option '" + spec.name + "' default " + format_value(d) + " is outside " + format_range(spec);
    if (auto f = std::get_if<double>(&d); f && !in_range(*f))
        return "option '" + spec.name + "' default " + format_value(d) + " is outside " + format_range(spec);
    if (auto l = std::get_if<std::vector<double>>(&d))
        for (double v : *l)
            if (!in_range(v))
                return "option '" + spec.name + "' default element " + format_number(v) + " is outside " +
                       format_range(spec);
    if (auto s = std::get_if<std::string>(&d); s && !spec.choices.empty()) {
        bool found = false;
        for (auto& c : spec.choices) found = found || c == *s;
        if (!found) return "option '" + spec.name + "' default \"" + *s + "\" is not among its choices";
    }
    return "";
}

OptionValues defaults_of(const std::vector<OptionSpec>& schema) {
    OptionValues values;
    for (const auto& s : schema)
        if (s.default_value) values[s.name] = *s.default_value;
    return values;
}

const char* option_type_name(cap_option_type type) {
    switch (type) {
        case CAP_OPTION_BOOL: return "bool";
        case CAP_OPTION_INT: return "int";
        case CAP_OPTION_FLOAT: return "float";
        case CAP_OPTION_STRING: return "string";
        case CAP_OPTION_FLOAT_LIST: return "float list";
    }
    return "unknown";
}

std::string format_value(const OptionValue& value) {
    struct Visitor {
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(int64_t i) const { return std::to_string(i); }
        std::string operator()(double d) const { return format_number(d); }
        std::string operator()(const std::string& s) const { return "\"" + s + "\""; }
        std::string operator()(const std::vector<double>& l) const {
            std::string out = "[";
            for (size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + format_number(l[i]);
            return out + "]";
        }
    };
    return std::visit(Visitor{}, value);
}

std::string format_range(const OptionSpec& spec) {
    if (spec.min && spec.max) return "[" + format_bound(*spec.min) + ", " + format_bound(*spec.max) + "]";
    if (spec.min) return ">= " + format_bound(*spec.min);
    if (spec.max) return "<= " + format_bound(*spec.max);
    return "";
}

}  // namespace cap::host
