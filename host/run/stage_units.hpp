// What StageLoop prunes at each stage, behind one interface: heads and FFN neurons (CAP-f with
// first_order, structured taylor/wanda/...) or single weights (taylor/wanda per weight). The loop
// itself (banks, retraining, evaluation, stage events) is the same for both.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cap/criterion.h"
#include "model/bert.hpp"

namespace cap::run {

class PruningRun;

class StageUnits {
public:
    virtual ~StageUnits() = default;
    // The importance pass and the criterion's selection for stage `stage`, from the model as it
    // stands; the new masks wait for commit() (the stage's bank sees the masks before it).
    virtual void select(PruningRun& run, int stage, const cap_stage& plan, const cap_progress& progress) = 0;
    virtual void commit() = 0;
    // The committed masks, as the forward pass applies them.
    virtual model::ForwardOptions forward() const = 0;
    // Fraction of the units pruned under the committed masks.
    virtual double sparsity() const = 0;
    // Adds the kept counts to a stage event; a one-line summary of them for the log.
    virtual void describe(nlohmann::ordered_json& event) const = 0;
    virtual std::string summary() const = 0;
    // Saves the result under the committed masks and logs the final event.
    virtual nlohmann::ordered_json save_result(PruningRun& run) = 0;
    // The committed masks in a stage checkpoint (units.safetensors in `folder`), and back: a
    // resumed run continues stage `stage` with them. restore() reads everything before it
    // changes anything and throws naming the file.
    virtual void save_state(const std::filesystem::path& folder) const = 0;
    virtual void restore_state(const std::filesystem::path& folder, int stage) = 0;
};

std::unique_ptr<StageUnits> make_structured_units(PruningRun& run);  // run/structured_units.cpp
std::unique_ptr<StageUnits> make_weight_units(PruningRun& run);      // run/weight_units.cpp

}  // namespace cap::run
