#include "support/process.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "test_paths.hpp"

namespace cap::test {

CommandResult run_command(const std::string& command) {
    CommandResult result;
    const std::string full = "env -u CAP_PLUGIN_PATH " + command + " 2>&1";
    FILE* pipe = popen(full.c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed for " + command);
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
    int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

CommandResult run_cap(const std::string& arguments) { return run_command(std::string(kCapExe) + " " + arguments); }

std::filesystem::path scratch_dir(const std::string& name) {
    auto dir = std::filesystem::path(kScratch) / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

std::filesystem::path write_text(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path;
}

std::string tiny_recipe(const std::string& name) {
    return "[run]\nname = \"" + name +
           "\"\n[model]\npretrained = \"builtin:bert-tiny\"\n[task]\nname = \"synthetic\"\n"
           "max_train_examples = 64\nmax_eval_examples = 32\n[finetune]\nepochs = 1\nbatch_size = 32\n";
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace cap::test
