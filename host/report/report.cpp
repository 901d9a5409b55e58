#include "report/report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "report/layout.hpp"
#include "report/pairs.hpp"
#include "report/plots.hpp"
#include "report/run_results.hpp"
#include "report/table.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::report {

namespace {

// A sweep folder lists its runs in sweep.json: the ones that never started are noted too.
void note_unstarted_runs(const fs::path& path, const std::vector<fs::path>& found, std::vector<std::string>& warnings) {
    std::ifstream in(path / "sweep.json");
    if (!in) return;
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object() || !j.contains("runs") || !j["runs"].is_array()) return;
    for (const auto& run : j["runs"]) {
        if (!run.contains("name") || !run["name"].is_string()) continue;
        const fs::path dir = path / run["name"].get<std::string>();
        if (std::find(found.begin(), found.end(), dir) != found.end()) continue;
        std::error_code ec;
        const auto completion = run_completion(dir);
        if (completion.state == RunCompletion::Damaged)
            warnings.push_back(completion.detail + "; the run is left out of the report");
        else if (fs::exists(dir, ec))
            warnings.push_back(dir.string() + ": unfinished (no manifest.json yet); shown as missing");
        else
            warnings.push_back(dir.string() + ": never started (in sweep.json); shown as missing");
    }
}

}  // namespace

ReportOutcome write_report(const ReportRequest& request) {
    ReportOutcome out;
    std::vector<RunResult> runs;
    for (const auto& path : request.run_dirs) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {  // a sweep's run that never started: the table shows it missing
            out.warnings.push_back(path.string() + ": no such run folder (shown as missing)");
            continue;
        }
        const auto dirs = find_run_dirs(path);
        for (const auto& dir : dirs) {
            try {
                runs.push_back(read_run(dir));
            } catch (const std::exception& e) {  // one damaged run does not cost the whole table
                out.warnings.push_back(std::string(e.what()) + "; the run is left out of the report");
                ++out.unreadable_runs;
                continue;
            }
            if (!runs.back().finished)
                out.warnings.push_back(dir.string() + ": unfinished (no summary.json); shown as missing");
            if (runs.back().unreadable_lines)
                out.warnings.push_back(dir.string() + "/metrics.jsonl: " +
                                       std::to_string(runs.back().unreadable_lines) + " unreadable line(s) skipped");
        }
        note_unstarted_runs(path, dirs, out.warnings);
    }
    const Layout layout = request.layout.empty() ? derived_layout(runs) : load_layout(request.layout);
    const Table table = build_table(layout, runs);
    fs::create_directories(request.out_dir);
    const auto diffs = paired_differences(table);
    util::write_file_atomic(request.out_dir / "table.md", to_markdown(table) + pairs_markdown(table, diffs));
    util::write_file_atomic(request.out_dir / "table.csv", to_csv(table));
    out.files.push_back(request.out_dir / "table.md");
    out.files.push_back(request.out_dir / "table.csv");
    if (!layout.pairs.empty()) {
        util::write_file_atomic(request.out_dir / "pairs.csv", pairs_csv(table, diffs));
        out.files.push_back(request.out_dir / "pairs.csv");
    }
    auto plots = write_plots(runs, layout, request.out_dir / "plots");
    out.files.insert(out.files.end(), plots.files.begin(), plots.files.end());
    out.warnings.insert(out.warnings.end(), plots.warnings.begin(), plots.warnings.end());
    return out;
}

}  // namespace cap::report
