#include "support/shared_data.hpp"

#include <cstdlib>

namespace fs = std::filesystem;

namespace cap::test {

std::optional<fs::path> data_dir() {
    const char* env = std::getenv("CAP_DATA_DIR");
    if (!env || !*env || !fs::is_directory(env)) return std::nullopt;
    return fs::path(env);
}

std::optional<fs::path> models_dir() {
    if (const char* env = std::getenv("CAP_MODELS_DIR"); env && *env && fs::is_directory(env)) return fs::path(env);
    if (auto data = data_dir(); data && fs::is_directory(*data / ".." / "models"))
        return (*data / ".." / "models").lexically_normal();
    return std::nullopt;
}

}  // namespace cap::test
