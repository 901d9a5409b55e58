// Training checkpoints: everything a killed run needs to continue as if it never stopped —
// weights, optimizer state, the schedule's position (an epoch's end or a step inside it), every
// random generator, and how much of metrics.jsonl belonged to the checkpointed past. Written to
// a hidden folder and renamed into place when complete, so a kill mid-write leaves the previous
// checkpoint intact; a checkpoint that cannot be read is reported and the one before it used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/bert.hpp"
#include "train/adamw.hpp"
#include "train/loss_scaler.hpp"

namespace cap::train {

struct TrainingState {
    std::string stage;                           // "finetune", "prune", "stage-03", ...
    int64_t epoch = 0;                           // epochs completed in the stage
    int64_t batch = 0;                           // batches of the next epoch done (0: at an epoch's end)
    int64_t step = 0;                            // optimizer steps taken in the stage
    uint64_t metrics_bytes = 0;                  // size of metrics.jsonl at the checkpoint
    std::string shuffle_rng;                     // the data-order generator before epoch `epoch`'s order
    std::optional<LossScalerState> loss_scaler;  // float16 runs only
    nlohmann::ordered_json last_eval;            // the newest evaluation's metrics; null before one
    nlohmann::ordered_json window;               // the progress line's running sums, mid-epoch
    nlohmann::ordered_json extra;                // the caller's own fields (StageContext)
};

// Writes <dir>/<stage>-e<epoch>[-b<batch>]/ atomically (names sort in step order) and removes
// older checkpoints of the stage beyond `keep`. Returns the new folder.
std::filesystem::path save_checkpoint(const std::filesystem::path& dir, const TrainingState& state, model::Bert& model,
                                      const AdamW& optimizer, int64_t keep);

// The complete checkpoints of `stage` under `dir` (those with a state.json), newest first.
std::vector<std::filesystem::path> checkpoints_of(const std::filesystem::path& dir, const std::string& stage);

// Restores weights, optimizer state and the generators from the newest checkpoint of `stage`
// that reads completely; each unreadable one is logged by name, with why, and skipped. Nothing
// is changed by a checkpoint that fails. nullopt: the stage has no usable checkpoint.
std::optional<TrainingState> restore_newest(const std::filesystem::path& dir, const std::string& stage,
                                            model::Bert& model, AdamW& optimizer);

// The model's weights (model.safetensors) and LibTorch's generators (rng.pt, rng-cuda.pt on a
// GPU) in `folder`: the part of a checkpoint that pruning's own checkpoints share.
void save_weights_and_generators(const std::filesystem::path& folder, model::Bert& model);
// Reads and checks both before changing the model; throws naming the file.
void restore_weights_and_generators(const std::filesystem::path& folder, model::Bert& model);

}  // namespace cap::train
