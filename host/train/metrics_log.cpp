#include "train/metrics_log.hpp"

#include <stdexcept>

#include "util/run_lock.hpp"

namespace cap::train {

MetricsLog::MetricsLog(std::filesystem::path file) : file_(std::move(file)) {
    std::error_code ec;
    size_ = std::filesystem::exists(file_, ec) ? std::filesystem::file_size(file_, ec) : 0;
    out_.open(file_, std::ios::app | std::ios::binary);
    if (!out_) throw std::runtime_error("cannot write " + file_.string());
}

void MetricsLog::write(const nlohmann::ordered_json& event) {
    util::check_run_folder();  // an append to a deleted file would succeed, silently
    const std::string line = event.dump() + "\n";
    out_ << line;
    out_.flush();
    if (!out_) throw std::runtime_error("cannot write " + file_.string());
    size_ += line.size();
}

void MetricsLog::truncate(uint64_t size) {
    if (size > size_)  // never pad: a checkpoint newer than the log is a bug or a swapped file
        throw std::runtime_error(file_.string() + " holds " + std::to_string(size_) + " bytes, fewer than the " +
                                 std::to_string(size) + " its checkpoint recorded");
    out_.close();
    std::error_code ec;
    std::filesystem::resize_file(file_, size, ec);
    if (ec) throw std::runtime_error("cannot truncate " + file_.string() + ": " + ec.message());
    size_ = size;
    out_.open(file_, std::ios::app | std::ios::binary);
}

}  // namespace cap::train
