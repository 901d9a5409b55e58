// metrics.jsonl: one JSON object per event (a training log line, an evaluation, a stage
// boundary), appended and flushed line by line. A resumed run first cuts the file back to what
// its checkpoint had seen, so events of the lost partial epoch do not appear twice.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace cap::train {

class MetricsLog {
public:
    explicit MetricsLog(std::filesystem::path file);
    void write(const nlohmann::ordered_json& event);
    uint64_t size() const { return size_; }  // bytes written so far
    void truncate(uint64_t size);            // back to a checkpoint's size (never longer)
    const std::filesystem::path& file() const { return file_; }

private:
    std::filesystem::path file_;
    std::ofstream out_;
    uint64_t size_ = 0;
};

}  // namespace cap::train
