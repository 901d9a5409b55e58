// Test helpers: run a command and capture what it printed, make scratch folders.
#pragma once

#include <filesystem>
#include <string>

namespace cap::test {

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh with CAP_PLUGIN_PATH cleared, capturing its output.
CommandResult run_command(const std::string& command);

// `cap` with the given arguments (a shell-quoted string).
CommandResult run_cap(const std::string& arguments);

// A fresh, empty folder under the build's scratch area, named after the test.
std::filesystem::path scratch_dir(const std::string& name);

// Writes `text` to `path`, creating folders; returns the path.
std::filesystem::path write_text(const std::filesystem::path& path, const std::string& text);

std::string read_text(const std::filesystem::path& path);

// The start of a recipe that runs in seconds: run `name`, bert-tiny, the synthetic task (64
// training and 32 evaluation examples), one epoch of fine-tuning in batches of 32. Tests append
// their tables.
std::string tiny_recipe(const std::string& name);

}  // namespace cap::test
