// What each pruning stage leaves in the run folder: masks.safetensors and importance.safetensors,
// one tensor per kind and stage ("stage_00.heads", "stage_00.ffn", ...), rewritten atomically
// after every stage so the files always hold every finished stage.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace cap::prune {

class StageRecord {
public:
    explicit StageRecord(std::filesystem::path run_dir) : dir_(std::move(run_dir)) {}
    // Adds stage `stage`'s importance scores and resulting masks, and rewrites both files.
    void add(int stage, const at::Tensor& head_importance, const at::Tensor& ffn_importance,
             const at::Tensor& head_mask, const at::Tensor& ffn_mask);

    // A resumed run: reads back stages 0..`stage` from the run folder's files (later ones
    // belong to the lost future). Throws naming the file when one is missing.
    void restore(int stage);

    static std::string tensor_name(int stage, const char* kind);  // "stage_03.heads"

private:
    std::filesystem::path dir_;
    std::vector<std::pair<std::string, at::Tensor>> masks_, importance_;
};

}  // namespace cap::prune
