#include "text/unicode.hpp"

#include <utf8proc.h>

namespace cap::text {

bool is_python_space(int32_t cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

void append_utf8(std::string& out, int32_t cp) {
    utf8proc_uint8_t buf[4];
    auto n = utf8proc_encode_char(cp, buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

namespace {
// Calls f(code point) for each code point; invalid bytes decode as U+FFFD.
template <class F>
void for_each_code_point(std::string_view text, F&& f) {
    const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
    const auto size = static_cast<utf8proc_ssize_t>(text.size());
    for (utf8proc_ssize_t pos = 0; pos < size;) {
        utf8proc_int32_t cp = 0;
        utf8proc_ssize_t n = utf8proc_iterate(bytes + pos, size - pos, &cp);
        if (n <= 0) {
            cp = 0xFFFD;
            n = 1;
        }
        f(cp);
        pos += n;
    }
}
}  // namespace

std::string python_lower(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for_each_code_point(text, [&](int32_t cp) {
        if (cp == 0x130) {  // İ lowers to i + combining dot above
            out += 'i';
            append_utf8(out, 0x307);
        } else {
            append_utf8(out, utf8proc_tolower(cp));
        }
    });
    return out;
}

std::vector<std::string> python_split(std::string_view text) {
    std::vector<std::string> words;
    std::string current;
    for_each_code_point(text, [&](int32_t cp) {
        if (is_python_space(cp)) {
            if (!current.empty()) words.push_back(std::move(current));
            current.clear();
        } else {
            append_utf8(current, cp);
        }
    });
    if (!current.empty()) words.push_back(std::move(current));
    return words;
}

std::string utf8_problem(std::string_view text) {
    const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
    const auto size = static_cast<utf8proc_ssize_t>(text.size());
    for (utf8proc_ssize_t at = 0; at < size;) {
        if (bytes[at] == 0) return "a NUL byte at byte " + std::to_string(at + 1);
        utf8proc_int32_t cp = 0;
        const auto n = utf8proc_iterate(bytes + at, size - at, &cp);
        if (n <= 0) return "invalid UTF-8 at byte " + std::to_string(at + 1);
        at += n;
    }
    return "";
}

}  // namespace cap::text
