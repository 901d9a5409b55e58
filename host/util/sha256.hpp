// SHA-256 as lowercase hex: of a file, for the run manifest (which plugin binary ran); of a
// text, for fingerprints (the recipe a Slurm task was emitted for).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace cap::util {

std::string sha256_file(const std::filesystem::path& path);  // throws std::runtime_error
std::string sha256_text(std::string_view text);

}  // namespace cap::util
