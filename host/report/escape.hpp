// How a report writes text into a cell: CSV quoting and Markdown table escaping.
#pragma once

#include <string>

namespace cap::report {

// Quoted (with doubled quotes) when it holds a comma, a quote or a line break.
inline std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// A '|' would end a Markdown table cell.
inline std::string md(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

}  // namespace cap::report
