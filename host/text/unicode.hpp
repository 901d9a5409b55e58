// The few Unicode operations cap needs to match Python-side behaviour: Python's notion of
// whitespace (str.split), lowercasing, and UTF-8 encoding. utf8proc supplies the tables.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cap::text {

bool is_python_space(int32_t cp);  // str.isspace()
void append_utf8(std::string& out, int32_t cp);
std::string python_lower(std::string_view text);               // str.lower() (simple case mapping, plus U+0130)
std::vector<std::string> python_split(std::string_view text);  // str.split()
// "" for valid UTF-8 without NUL bytes, else what is wrong and where ("invalid UTF-8 at byte 7").
std::string utf8_problem(std::string_view text);

}  // namespace cap::text
