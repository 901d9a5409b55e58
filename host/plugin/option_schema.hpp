// Option schemas in host form: copied out of a plugin's C descriptor (or declared by the host
// for its own recipe tables), and the values the recipe gives them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cap/abi.h"

namespace cap::host {

using OptionValue = std::variant<bool, int64_t, double, std::string, std::vector<double>>;

struct OptionSpec {
    std::string name;
    cap_option_type type = CAP_OPTION_STRING;
    std::string doc;
    bool required = false;
    bool path = false;  // string naming a file or folder that must exist
    std::optional<double> min, max;
    std::optional<OptionValue> default_value;  // absent when required
    std::vector<std::string> choices;          // strings only; empty = any

    static OptionSpec from_c(const cap_option_spec& c);  // no validation; see schema_problem()
};

// A problem with a declared schema entry (bad name, default out of range, ...), or "".
std::string schema_problem(const OptionSpec& spec);

const char* option_type_name(cap_option_type type);
std::string format_value(const OptionValue& value);  // TOML-like: 0.1, "cls", [10.0, 20.0]
std::string format_range(const OptionSpec& spec);    // "[0, 1]", ">= 0", or ""

// Validated values by option name; defaults filled in.
using OptionValues = std::map<std::string, OptionValue>;

// Every option's default (required options, which have none, are left out).
OptionValues defaults_of(const std::vector<OptionSpec>& schema);

}  // namespace cap::host
