// Training checkpoints: everything a killed run needs to continue as if it never stopped —
// weights, optimizer state, the schedule's position, every random generator, and how much of
// metrics.jsonl belonged to the checkpointed past. Written to a hidden folder and renamed into
// place when complete, so a kill mid-write leaves the previous checkpoint intact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "model/bert.hpp"
#include "train/adamw.hpp"
#include "train/loss_scaler.hpp"

namespace cap::train {

struct TrainingState {
    std::string stage;                           // "finetune", ...
    int64_t epoch = 0;                           // epochs completed in the stage
    int64_t step = 0;                            // optimizer steps taken in the stage
    uint64_t metrics_bytes = 0;                  // size of metrics.jsonl at the checkpoint
    std::string shuffle_rng;                     // the data-order generator, serialised
    std::optional<LossScalerState> loss_scaler;  // float16 runs only
};

// Writes <dir>/<stage>-e<epoch>/ atomically and removes older checkpoints of the stage beyond
// `keep`. Returns the new folder.
std::filesystem::path save_checkpoint(const std::filesystem::path& dir, const TrainingState& state, model::Bert& model,
                                      const AdamW& optimizer, int64_t keep);

// The newest complete checkpoint of `stage` under `dir`, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& dir, const std::string& stage);

// Restores weights, optimizer state and LibTorch's generator from `folder`; returns the state.
TrainingState load_checkpoint(const std::filesystem::path& folder, model::Bert& model, AdamW& optimizer);

}  // namespace cap::train
