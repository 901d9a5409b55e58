// SHA-256 of a file, as lowercase hex, for the run manifest (which plugin binary ran).
#pragma once

#include <filesystem>
#include <string>

namespace cap::util {

std::string sha256_file(const std::filesystem::path& path);  // throws std::runtime_error

}  // namespace cap::util
