#include "report/report.hpp"

#include "report/layout.hpp"
#include "report/plots.hpp"
#include "report/run_results.hpp"
#include "report/table.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::report {

ReportOutcome write_report(const ReportRequest& request) {
    ReportOutcome out;
    std::vector<RunResult> runs;
    for (const auto& path : request.run_dirs) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {  // a sweep's run that never started: the table shows it missing
            out.warnings.push_back(path.string() + ": no such run folder (shown as missing)");
            continue;
        }
        for (const auto& dir : find_run_dirs(path)) {
            runs.push_back(read_run(dir));
            if (!runs.back().finished)
                out.warnings.push_back(dir.string() + ": unfinished (no summary.json); shown as missing");
        }
    }
    const Layout layout = request.layout.empty() ? derived_layout(runs) : load_layout(request.layout);
    const Table table = build_table(layout, runs);
    fs::create_directories(request.out_dir);
    util::write_file_atomic(request.out_dir / "table.md", to_markdown(table));
    util::write_file_atomic(request.out_dir / "table.csv", to_csv(table));
    out.files.push_back(request.out_dir / "table.md");
    out.files.push_back(request.out_dir / "table.csv");
    auto plots = write_plots(runs, layout, request.out_dir / "plots");
    out.files.insert(out.files.end(), plots.files.begin(), plots.files.end());
    out.warnings.insert(out.warnings.end(), plots.warnings.begin(), plots.warnings.end());
    return out;
}

}  // namespace cap::report
