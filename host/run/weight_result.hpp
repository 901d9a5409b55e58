// What the two strategies that prune single weights share (StepSchedule for movement-style
// criteria, StageLoop for taylor/wanda per weight): freezing the embeddings, and the result
// folder: final/ as a plain Hugging Face checkpoint with the pruned weights zeroed, with
// masks.safetensors (scores.safetensors when learned) and remaining_weights.csv beside it.
#pragma once

#include <nlohmann/json.hpp>

#include "model/bert.hpp"
#include "model/weight_masks.hpp"
#include "run/pruning_run.hpp"

namespace cap::run {

void freeze_embeddings(model::Bert& model);

// Saves the result under `masks` (zeroing the student's pruned weights), evaluates it and logs
// the final event: {event, model, `fields`..., remaining_weights, masked counts, metrics}.
nlohmann::ordered_json save_weight_result(PruningRun& run, const model::WeightMasks& masks,
                                          const nlohmann::ordered_json& fields);

}  // namespace cap::run
