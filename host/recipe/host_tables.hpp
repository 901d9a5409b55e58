// The recipe tables cap itself defines: [run], [model], [constraints], [task], [finetune] and
// [prune]. Their keys are
// checked like a plugin's options (same messages, same origins), plus the checks that need
// more than a schema: a run name usable as a folder name, a model folder with a config.json,
// constraints that fit the model.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cap/abi.h"
#include "hf/bert_config.hpp"
#include "plugin/option_schema.hpp"
#include "recipe/node.hpp"
#include "settings/task.hpp"
#include "settings/training.hpp"

namespace cap::recipe {

struct ModelSpec {
    std::string pretrained;        // as written
    std::filesystem::path folder;  // resolved Hugging Face folder (a cache snapshot for a model
                                   // id); empty for builtin models
    std::string teacher;           // as written; empty when the recipe names none
    std::filesystem::path teacher_folder;
    cap_model_shape shape{};
};

struct HostTables {
    std::string run_name;
    std::string method;  // report label; empty: derived from the plugins
    uint64_t seed = 42;
    ModelSpec model;
    cap_constraints constraints{};
    bool stop_on_violation = false;            // [constraints] on_violation = "stop"
    std::optional<settings::TaskConfig> task;  // absent: the run trains nothing
    settings::FineTuneSettings finetune;
    settings::PruneSettings prune;
};

// The table `key` of `root`, or an empty table standing at the top of the recipe when absent.
// A key that is not a table is reported and read as empty.
Node table_or_empty(const Node& root, const std::string& key, std::vector<Diagnostic>& errors);

// Checks [run], [model] and [constraints]; `default_name` names a run whose recipe gives none.
HostTables check_host_tables(const Node& root, const std::string& default_name, std::vector<Diagnostic>& errors);

cap_model_shape make_shape(int layers, int heads, int hidden, int intermediate);
cap_model_shape model_shape(const hf::BertConfig& config);  // the schedule's view of a model

// The encoder shape of a Hugging Face folder, from its config.json (read as the model loader
// reads it); false with `problem` set when it cannot be read.
bool read_model_shape(const std::filesystem::path& folder, cap_model_shape& shape, std::string& problem);

}  // namespace cap::recipe
