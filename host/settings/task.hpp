// What the recipe's [task] table asks for: plain values, no LibTorch, so that the recipe code
// (which links no LibTorch) and the data code share one definition.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cap::settings {

struct TaskConfig {
    std::string name;                // sst2, mnli, qqp, ..., squad, synthetic
    std::filesystem::path data;      // folder (GLUE) or folder with train/dev JSON (SQuAD)
    std::filesystem::path dev_file;  // when set: the only dev file (`cap eval --data FILE`)
    int64_t max_seq_length = 128;
    int64_t doc_stride = 128;        // SQuAD: tokens shared by consecutive windows
    int64_t max_query_length = 64;   // SQuAD
    int64_t max_train_examples = 0;  // 0: all
    int64_t max_eval_examples = 0;   // 0: all
    uint64_t seed = 42;              // synthetic data
    bool load_train = true;          // false: dev data only (evaluation)
};

// Every task name cap knows; data::make_task accepts each (a test holds the two together).
const std::vector<std::string>& task_names();

}  // namespace cap::settings
