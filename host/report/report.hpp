// `cap report`: run folders in, table.md, table.csv and plots/ out.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace cap::report {

struct ReportRequest {
    std::vector<std::filesystem::path> run_dirs;  // run folders or sweep folders; missing ones are noted
    std::filesystem::path layout;                 // empty: derived from the runs
    std::filesystem::path out_dir;
};

struct ReportOutcome {
    std::vector<std::filesystem::path> files;
    std::vector<std::string> warnings;  // unfinished or absent runs, plots not drawn
    size_t unreadable_runs = 0;         // left out, each named in warnings
};

// Throws recipe::RecipeErrors for a bad layout; an unreadable run is left out and named in warnings.
ReportOutcome write_report(const ReportRequest& request);

}  // namespace cap::report
