#include <spdlog/spdlog.h>

#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "report/report.hpp"
#include "util/error_text.hpp"

namespace cap::cli {

int cmd_report(const ReportOptions& options) {
    report::ReportRequest request;
    for (const auto& d : options.run_dirs) request.run_dirs.emplace_back(d);
    request.layout = options.layout;
    // A sweep folder remembers its layout: `cap report runs/<sweep>` needs no --layout.
    for (size_t i = 0; i < options.run_dirs.size() && request.layout.empty(); ++i) {
        const auto sweep_json = std::filesystem::path(options.run_dirs[i]) / "sweep.json";
        if (!std::filesystem::exists(sweep_json)) continue;
        try {
            std::ifstream in(sweep_json);
            const auto j = nlohmann::json::parse(in);
            if (j.contains("layout") && std::filesystem::exists(j["layout"].get<std::string>())) {
                request.layout = j["layout"].get<std::string>();
                spdlog::info("layout {} (from {})", request.layout.string(), sweep_json.string());
            }
        } catch (const std::exception& e) {
            spdlog::warn("{}: unreadable ({}); no layout taken from it", sweep_json.string(), util::error_text(e));
        }
    }
    request.out_dir =
        options.out_dir.empty() ? std::filesystem::path("report") : std::filesystem::path(options.out_dir);
    if (!options.layout.empty() && !std::filesystem::exists(options.layout)) {
        spdlog::error("--layout {}: no such file", options.layout);
        return kExitUsage;
    }
    for (const auto& d : options.run_dirs)
        if (!std::filesystem::is_directory(d)) {
            spdlog::error("{}: no such folder (give run folders or sweep folders)", d);
            return kExitUsage;
        }
    try {
        auto outcome = report::write_report(request);
        for (const auto& w : outcome.warnings) spdlog::warn("{}", w);
        for (const auto& f : outcome.files) std::cout << "wrote " << f.string() << "\n";
        if (outcome.unreadable_runs) {
            spdlog::error("report: {} run(s) could not be read and are not in it (named above)",
                          outcome.unreadable_runs);
            return kExitFailure;
        }
        return kExitOk;
    } catch (const recipe::RecipeErrors& e) {
        print_diagnostics(e.diagnostics());
        return kExitUsage;
    } catch (const std::exception& e) {
        spdlog::error("report: {}", util::error_text(e));
        return kExitFailure;
    }
}

}  // namespace cap::cli
