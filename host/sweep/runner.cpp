#include "sweep/runner.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "recipe/serialize.hpp"
#include "report/report.hpp"
#include "util/error_text.hpp"
#include "util/logging.hpp"
#include "util/run_lock.hpp"
#include "util/stop_request.hpp"

namespace fs = std::filesystem;

namespace cap::sweep {

namespace {

bool render_report(const Expansion& expansion, const fs::path& out_dir) {
    try {
        report::ReportRequest request;
        request.layout = expansion.spec.layout;
        for (const auto& c : expansion.cells) request.run_dirs.push_back(out_dir / c.name);
        request.out_dir = out_dir / "report";
        auto outcome = report::write_report(request);
        for (const auto& w : outcome.warnings) spdlog::warn("report: {}", w);
        spdlog::info("sweep: report in {} ({} files)", request.out_dir.string(), outcome.files.size());
        return true;
    } catch (const std::exception& e) {
        spdlog::error("sweep: the report failed: {}", util::error_text(e));
        return false;
    }
}

}  // namespace

SweepOutcome run_cells(const Expansion& expansion, std::vector<CellPlan>& plans, const RunnerOptions& options,
                       const ExecuteCell& execute) {
    const fs::path& out_dir = options.out_dir;
    // One log per sweep session; Slurm array tasks run one cell each and log apart.
    const std::string log_name = options.single_cell ? "sweep-cell-" + plans.at(0).cell->name + ".log" : "sweep.log";
    util::ScopedLogFile sweep_log(out_dir / log_name);
    print_listing(expansion, plans, out_dir);
    write_sweep_json(expansion, plans, out_dir, options.recipe_file);
    size_t failed = 0, ran = 0;
    for (auto& p : plans) {
        const fs::path dir = out_dir / p.cell->name;
        if (p.status.state == CellState::Done) {
            spdlog::info("sweep: run {} of {} '{}' is done: skipped", p.cell->index + 1, expansion.cells.size(),
                         p.cell->name);
            continue;
        }
        if (util::stop_requested()) {  // arrived between two runs: start no other
            spdlog::warn("sweep '{}': stopped by {} before run '{}'; run the same command again to continue",
                         expansion.spec.name, util::stop_signal_name(), p.cell->name);
            return SweepOutcome::kStopped;
        }
        const bool resume = p.status.state == CellState::Partial;
        spdlog::info("sweep: run {} of {} '{}' ({}){}", p.cell->index + 1, expansion.cells.size(), p.cell->name,
                     labels_text(*p.cell), resume ? ": resuming" : "");
        std::error_code ec;
        fs::create_directories(dir, ec);
        std::optional<util::RunLock> lock;
        try {
            lock.emplace(dir);  // a cell another task is running is not run twice
            if (resume) util::remove_write_leftovers(dir);
        } catch (const std::exception& e) {
            ++failed;  // not recorded as failed: another task may be running it right now
            spdlog::error("sweep: run '{}': {}", p.cell->name, util::error_text(e));
            continue;
        }
        const bool ok = execute(*p.resolved, dir, resume);
        ++ran;
        if (!ok && util::stop_requested()) {
            p.status = cell_status(dir, recipe::to_toml(p.resolved->tree));
            write_sweep_json(expansion, plans, out_dir, options.recipe_file);
            spdlog::warn("sweep '{}': stopped by {} during run '{}'; run the same command again to continue",
                         expansion.spec.name, util::stop_signal_name(), p.cell->name);
            return SweepOutcome::kStopped;
        }
        if (!ok) {
            ++failed;
            p.failed = true;
            spdlog::error("sweep: run '{}' failed (its run.log says why); going on with the next", p.cell->name);
        } else {
            p.status = cell_status(dir, recipe::to_toml(p.resolved->tree));
        }
        write_sweep_json(expansion, plans, out_dir, options.recipe_file);
    }
    if (failed) {
        spdlog::error("sweep '{}': {} of {} runs failed", expansion.spec.name, failed, ran);
        return SweepOutcome::kSomeFailed;
    }
    spdlog::info("sweep '{}': every run is done ({} ran now)", expansion.spec.name, ran);
    if (!options.single_cell && !expansion.spec.layout.empty() && !render_report(expansion, out_dir))
        return SweepOutcome::kSomeFailed;
    return SweepOutcome::kAllDone;
}

}  // namespace cap::sweep
