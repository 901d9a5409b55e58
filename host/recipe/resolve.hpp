// From a recipe tree to a checked plan: every table validated, every plugin found and its
// options checked against the plugin's own schema, the backend probed. All problems are
// collected and reported together, each at file:line:column.
//
// Recipe tables (host-defined):
//   [run]          name, seed
//   [model]        pretrained: "builtin:bert-tiny", "builtin:bert-base", or a Hugging Face folder;
//                  teacher: a fine-tuned Hugging Face folder (optional)
//   [task]         name, data, max_seq_length, doc_stride, max_query_length, max_*_examples
//   [finetune]     batch_size, epochs, learning_rate, weight_decay, warmup_ratio, ... (the teacher)
//   [prune]        the same training keys (no epochs) for the pruning stages, ce_weight,
//                  representation, importance_subset, importance_batch_size, save_masked
//   [constraints]  min_heads_per_layer, on_violation
//   [backend]      plugin = "auto" | "cpu" | "cuda" | ...; other keys go to the backend plugin
//                  ("auto": cuda when it validates and is available with those keys, else cpu)
//   [criterion], [schedule], [distill]   plugin = "<name>"; other keys go to that plugin
//   [contrastive.<id>]                   plugin defaults to <id>; other keys go to that plugin
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cap/abi.h"
#include "plugin/instance.hpp"
#include "plugin/registry.hpp"
#include "recipe/host_tables.hpp"
#include "recipe/loader.hpp"
#include "recipe/overrides.hpp"

namespace cap::recipe {

struct PluginUse {
    std::string section;  // "criterion", "contrastive.prc", ...
    std::shared_ptr<const host::PluginLibrary> plugin;
    host::OptionValues values;
    Origin origin;  // where the table (or its plugin key) was written
};

struct ResolvedRecipe {
    std::filesystem::path file;
    std::vector<std::filesystem::path> sources;
    Node tree;  // after includes and overrides
    std::string run_name;
    std::string method;  // [run] method: the report's row label (empty: from the plugins)
    uint64_t seed = 42;
    ModelSpec model;
    cap_constraints constraints{};
    // [constraints] on_violation: false ("warn") records a layer left below min_heads_per_layer
    // and goes on, as the reference does; true ("stop") ends the run there.
    bool stop_on_violation = false;
    std::optional<settings::TaskConfig> task;
    settings::FineTuneSettings finetune;
    settings::PruneSettings prune;
    PluginUse backend;
    std::string backend_choice;  // why this backend ("auto: cuda unavailable (...)")
    std::optional<PluginUse> criterion, schedule, distill;
    std::vector<PluginUse> contrastive;

    std::vector<const PluginUse*> plugin_uses() const;  // backend first, then the rest
    nlohmann::ordered_json to_json() const;             // resolved values incl. defaults
    // Creates one of this recipe's plugins; its seed() calls mix this run's seed.
    std::unique_ptr<host::PluginInstance> instantiate(const PluginUse& use) const;
};

// Loads, applies overrides and resolves; throws RecipeErrors with every problem found. The
// plugins it creates to check the recipe see the run's seed, as the run's will.
ResolvedRecipe resolve_recipe(const std::filesystem::path& file, const Overrides& overrides,
                              const host::PluginRegistry& registry);

// Same, from an already loaded tree.
ResolvedRecipe resolve_tree(LoadedRecipe loaded, const host::PluginRegistry& registry);

}  // namespace cap::recipe
