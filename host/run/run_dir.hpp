// The run folder: where manifest.json, run.log and every output of a run go.
#pragma once

#include <filesystem>
#include <string>

namespace cap::run {

// Creates the run folder: `out_dir` when given (it must not exist, or be empty), else
// runs/<run_name>-<UTC yyyymmdd-HHMMSS> under the current folder. Throws std::runtime_error.
std::filesystem::path create_run_dir(const std::string& out_dir, const std::string& run_name);

// The folder that create_run_dir would use, or an error message; creates nothing. A folder holding
// only what a killed run leaves before its first file (its lock, a temporary file) is empty.
std::string check_run_dir(const std::string& out_dir);

}  // namespace cap::run
