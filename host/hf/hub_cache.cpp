#include "hf/hub_cache.hpp"

#include <cstdlib>
#include <fstream>

namespace fs = std::filesystem;

namespace cap::hf {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// A repository or organisation name as the Hub allows it: letters, digits, '-', '_' and '.', not
// starting or ending with '-' or '.', no "--" or "..".
bool valid_part(const std::string& s) {
    if (s.empty() || s.size() > 96 || s.front() == '.' || s.front() == '-' || s.back() == '.' || s.back() == '-' ||
        s.find("..") != std::string::npos || s.find("--") != std::string::npos)
        return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return false;
    return true;
}

std::string trimmed_first_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

}  // namespace

fs::path hub_cache_dir() {
    if (auto v = env("HF_HUB_CACHE"); !v.empty()) return v;
    if (auto v = env("HF_HOME"); !v.empty()) return fs::path(v) / "hub";
    if (auto v = env("XDG_CACHE_HOME"); !v.empty()) return fs::path(v) / "huggingface" / "hub";
    return fs::path(env("HOME")) / ".cache" / "huggingface" / "hub";
}

bool is_model_id(const std::string& spec) {
    const std::string id = spec.substr(0, spec.find('@'));
    if (spec.find('@') != std::string::npos && !valid_part(spec.substr(spec.find('@') + 1))) return false;
    const size_t slash = id.find('/');
    if (slash == std::string::npos) return valid_part(id);
    return valid_part(id.substr(0, slash)) && valid_part(id.substr(slash + 1));
}

CachedModel find_cached_model(const std::string& spec, const fs::path& tried_folder) {
    CachedModel out;
    const size_t at = spec.find('@');
    const std::string id = spec.substr(0, at);
    const std::string revision = at == std::string::npos ? "main" : spec.substr(at + 1);
    std::string repo = "models--" + id;
    for (size_t p; (p = repo.find('/')) != std::string::npos;) repo.replace(p, 1, "--");
    const fs::path cache = hub_cache_dir();
    const fs::path root = cache / repo;
    const std::string fetch =
        "; if it is a model id, fetch it where the network is reachable with `huggingface-cli download " + id +
        (at == std::string::npos ? "" : " --revision " + revision) +
        "` (or load it once with transformers), then run cap again: cap itself never downloads";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
        out.problem = "'" + spec + "' is neither a folder" +
                      (tried_folder.empty() ? "" : " (" + tried_folder.string() + ")") +
                      " nor a model in the Hugging Face cache (" + cache.string() + ")" + fetch;
        return out;
    }
    // A branch or tag names its commit in refs/; a commit hash names the snapshot itself.
    std::string commit = revision;
    if (fs::is_regular_file(root / "refs" / revision, ec)) commit = trimmed_first_line(root / "refs" / revision);
    if (!valid_part(commit)) {
        out.problem = (root / "refs" / revision).string() + " does not name a commit ('" + commit + "')" + fetch;
        return out;
    }
    const fs::path snapshot = root / "snapshots" / commit;
    if (commit.empty() || !fs::is_directory(snapshot, ec)) {
        out.problem = "the Hugging Face cache holds " + id + " (" + root.string() + ") but not its revision '" +
                      revision + "'" + fetch;
        return out;
    }
    if (!fs::exists(snapshot / "config.json", ec)) {
        out.problem = "the cached snapshot " + snapshot.string() + " has no config.json (a partial download?)" + fetch;
        return out;
    }
    out.folder = snapshot;
    return out;
}

CachedModel find_model(const std::string& spec, const fs::path& base) {
    fs::path folder(spec);
    if (folder.is_relative()) folder = base / folder;
    folder = folder.lexically_normal();
    std::error_code ec;
    if (!fs::exists(folder, ec) && is_model_id(spec)) return find_cached_model(spec, folder);
    CachedModel out;
    if (fs::is_directory(folder, ec))
        out.folder = folder;
    else
        out.problem = missing_model_folder(folder);
    return out;
}

std::string missing_model_folder(const fs::path& folder) {
    std::error_code ec;
    if (fs::exists(folder, ec))
        return folder.string() + " is a file; a model folder (config.json and the weights) is expected";
    return "no such folder: " + folder.string();
}

}  // namespace cap::hf
