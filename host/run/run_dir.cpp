#include "run/run_dir.hpp"

#include <chrono>
#include <ctime>
#include <stdexcept>

#include "util/run_lock.hpp"

namespace fs = std::filesystem;

namespace cap::run {

namespace {
std::string utc_stamp() {
    std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
    return buf;
}
}  // namespace

std::string check_run_dir(const std::string& out_dir) {
    if (out_dir.empty()) return "";
    std::error_code ec;
    if (!fs::exists(out_dir, ec)) return "";
    if (fs::is_directory(out_dir, ec))
        if (auto pid = util::run_lock_holder(out_dir))
            return "--out " + out_dir + " is in use by cap (PID " + std::to_string(*pid) +
                   "), which is still running; choose another folder";
    if (!(fs::is_directory(out_dir, ec) && util::holds_nothing(out_dir)))
        return "--out " + out_dir + " already exists and is not an empty folder; choose another";
    return "";
}

fs::path create_run_dir(const std::string& out_dir, const std::string& run_name) {
    if (std::string problem = check_run_dir(out_dir); !problem.empty()) throw std::runtime_error(problem);
    fs::path dir;
    if (!out_dir.empty()) {
        dir = out_dir;
    } else {
        const fs::path base = fs::path("runs") / (run_name + "-" + utc_stamp());
        dir = base;
        for (int i = 2; fs::exists(dir); ++i) dir = base.string() + "-" + std::to_string(i);
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create run folder " + dir.string() + ": " + ec.message());
    return dir;
}

}  // namespace cap::run
