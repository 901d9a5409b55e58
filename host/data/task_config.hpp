// What the recipe's [task] table asks for (kept free of LibTorch so recipe code stays light).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cap::data {

struct TaskConfig {
    std::string name;                 // sst2, mnli, qqp, ..., squad, synthetic
    std::filesystem::path data;       // folder (GLUE) or folder with train/dev JSON (SQuAD)
    int64_t max_seq_length = 128;
    int64_t doc_stride = 128;         // SQuAD: tokens shared by consecutive windows
    int64_t max_query_length = 64;    // SQuAD
    int64_t max_train_examples = 0;   // 0: all
    int64_t max_eval_examples = 0;    // 0: all
    uint64_t seed = 42;               // synthetic data
    bool load_train = true;           // false: dev data only (evaluation)
};

std::vector<std::string> task_names();  // every name make_task accepts

}  // namespace cap::data
