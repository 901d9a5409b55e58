// Writing outputs so that a reader never sees half a file: write a sibling temporary, flush it
// to disk, then rename it over the target (rename is atomic within a filesystem).
#pragma once

#include <filesystem>
#include <string_view>

namespace cap::util {

// Replaces `path` with `contents` atomically. Throws std::runtime_error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace cap::util
