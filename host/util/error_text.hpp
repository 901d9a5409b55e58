// An exception's message as cap shows it, without what libraries add for their own developers:
// nlohmann's tag ("[json.exception.parse_error.101] ", meant for its issue tracker) and
// LibTorch's C++ stack ("Exception raised from ... (most recent call first):" and its frames).
// The library's explanation itself (where and why it stopped) is kept.
#pragma once

#include <exception>
#include <string>

namespace cap::util {

inline std::string error_text(const std::exception& e) {
    std::string text = e.what();
    if (text.rfind("[json.exception.", 0) == 0) {
        const auto close = text.find("] ");
        if (close != std::string::npos) text.erase(0, close + 2);
    }
    const auto stack = text.find("Exception raised from ");
    if (stack != std::string::npos) {
        text.erase(stack);
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    }
    return text;
}

}  // namespace cap::util
