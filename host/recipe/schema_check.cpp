#include "recipe/schema_check.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "util/suggest.hpp"

namespace cap::recipe {

namespace {

using host::OptionSpec;
using host::OptionValue;

bool within(const OptionSpec& spec, double v) {
    return !std::isnan(v) && (!spec.min || v >= *spec.min) && (!spec.max || v <= *spec.max);
}

std::string range_error(const std::string& key, const std::string& shown, const OptionSpec& spec) {
    return key + " = " + shown + " is out of range " + host::format_range(spec);
}

// Converts one value; returns false (and records why) when it does not fit the spec.
bool convert_value(const std::string& key, const Node& node, const OptionSpec& spec, OptionValue& out,
                   std::vector<Diagnostic>& errors) {
    auto wrong_type = [&](const char* expected) {
        errors.push_back(
            {node.origin, key + " must be " + expected + ", not " + node.type_name() + " (" + spec.doc + ")"});
        return false;
    };
    switch (spec.type) {
        case CAP_OPTION_BOOL:
            if (node.type != Node::Type::Bool) return wrong_type("a boolean (true or false)");
            out = node.boolean;
            return true;
        case CAP_OPTION_INT:
            if (node.type != Node::Type::Int) return wrong_type("an integer");
            if (!within(spec, static_cast<double>(node.integer))) {
                errors.push_back({node.origin, range_error(key, std::to_string(node.integer), spec)});
                return false;
            }
            out = node.integer;
            return true;
        case CAP_OPTION_FLOAT: {
            if (!node.is_number()) return wrong_type("a number");
            double v = node.type == Node::Type::Int ? static_cast<double>(node.integer) : node.floating;
            if (!within(spec, v)) {
                errors.push_back({node.origin, range_error(key, host::format_value(v), spec)});
                return false;
            }
            out = v;
            return true;
        }
        case CAP_OPTION_STRING: {
            if (node.type != Node::Type::String) return wrong_type("a string");
            std::string v = node.string;
            if (!spec.choices.empty() && std::find(spec.choices.begin(), spec.choices.end(), v) == spec.choices.end()) {
                std::string all;
                for (const auto& c : spec.choices) all += (all.empty() ? "" : ", ") + c;
                errors.push_back({node.origin, key + " = \"" + v + "\" is not one of: " + all +
                                                   util::did_you_mean(v, spec.choices)});
                return false;
            }
            if (spec.path) {
                std::filesystem::path p(v);
                if (p.is_relative()) p = node.origin.base_dir() / p;
                p = p.lexically_normal();
                std::error_code ec;
                if (!std::filesystem::exists(p, ec)) {
                    errors.push_back({node.origin, key + ": " + (ec ? "cannot access " : "no such file or folder: ") +
                                                       p.string() + (ec ? " (" + ec.message() + ")" : "")});
                    return false;
                }
                v = p.string();
            }
            out = v;
            return true;
        }
        case CAP_OPTION_FLOAT_LIST: {
            if (node.type != Node::Type::Array) return wrong_type("an array of numbers");
            std::vector<double> values;
            bool ok = true;
            for (const auto& item : node.items) {
                if (!item.is_number()) {
                    errors.push_back({item.origin, key + " elements must be numbers, not " + item.type_name()});
                    ok = false;
                    continue;
                }
                double v = item.type == Node::Type::Int ? static_cast<double>(item.integer) : item.floating;
                if (!within(spec, v)) {
                    errors.push_back({item.origin, range_error(key + " element", host::format_value(v), spec)});
                    ok = false;
                }
                values.push_back(v);
            }
            if (ok) out = values;
            return ok;
        }
    }
    return false;
}

}  // namespace

host::OptionValues check_table(const Node& table, const std::vector<OptionSpec>& schema, const std::string& owner,
                               const std::string& table_name, const std::vector<std::string>& reserved,
                               std::vector<Diagnostic>& errors) {
    host::OptionValues values;
    std::vector<std::string> names;
    for (const auto& s : schema) names.push_back(s.name);
    for (const auto& e : table.entries) {
        if (std::find(reserved.begin(), reserved.end(), e.key) != reserved.end()) continue;
        auto spec = std::find_if(schema.begin(), schema.end(), [&](const OptionSpec& s) { return s.name == e.key; });
        if (spec == schema.end()) {
            std::string hint = util::did_you_mean(e.key, names);
            if (hint.empty() && !names.empty()) {
                std::string all;
                for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
                hint = " (valid keys: " + all + ")";
            }
            errors.push_back({e.key_origin, "unknown key '" + e.key + "' in " + table_name +
                                                (owner.empty() ? "" : " for " + owner) + hint});
            continue;
        }
        OptionValue v;
        if (convert_value(e.key, e.value, *spec, v, errors))
            values[e.key] = std::move(v);
        else if (spec->default_value)  // the error is recorded; the default keeps later checks going
            values[e.key] = *spec->default_value;
    }
    for (const auto& s : schema) {
        if (table.find(s.name)) continue;
        if (s.required)
            errors.push_back({table.origin, table_name + " is missing required key '" + s.name + "' (" +
                                                host::option_type_name(s.type) + ": " + s.doc + ")" +
                                                (owner.empty() ? "" : " for " + owner)});
        else if (s.default_value)
            values[s.name] = *s.default_value;
    }
    return values;
}

}  // namespace cap::recipe
