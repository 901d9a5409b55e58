// Quoting for POSIX shells: what cap writes into job scripts and runs through /bin/sh.
#pragma once

#include <string>

namespace cap::util {

// `text` as one shell word: 'it'\''s'.
std::string shell_quote(const std::string& text);

}  // namespace cap::util
