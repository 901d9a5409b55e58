#include "recipe/resolve.hpp"

#include <algorithm>
#include <fstream>
#include <tuple>

#include "plugin/backend_plugin.hpp"
#include "plugin/criterion_plugin.hpp"
#include "plugin/kind.hpp"
#include "plugin/schedule_plugin.hpp"
#include "recipe/schema_check.hpp"
#include "util/error_text.hpp"
#include "util/suggest.hpp"

namespace fs = std::filesystem;

namespace cap::recipe {

namespace {

const std::vector<std::string> kTopLevel = {"run",     "model",     "task",     "finetune",    "prune",  "constraints",
                                            "backend", "criterion", "schedule", "contrastive", "distill"};

struct PluginTable {
    std::string section;
    cap_plugin_kind kind;
    const Node* table;
    Origin origin;
    std::string default_plugin;  // "" = required
};

std::optional<PluginUse> resolve_plugin(const PluginTable& t, const host::PluginRegistry& registry,
                                        std::vector<Diagnostic>& errors) {
    std::string name = t.default_plugin;
    Origin name_origin = t.origin;
    if (const Node* p = t.table->find("plugin")) {
        name_origin = p->origin;
        if (p->type != Node::Type::String) {
            errors.push_back({p->origin, "[" + t.section + "] plugin must be a string, not " + p->type_name()});
            return std::nullopt;
        }
        name = p->string;
    }
    if (name.empty()) {
        errors.push_back({t.origin, "[" + t.section + "] needs a plugin = \"...\" key naming a " +
                                        host::kind_name(t.kind) + " plugin"});
        return std::nullopt;
    }
    std::shared_ptr<const host::PluginLibrary> lib;
    try {
        lib = registry.find(t.kind, name);
    } catch (const std::exception& e) {
        errors.push_back({name_origin, util::error_text(e)});
        return std::nullopt;
    }
    if (!lib) {
        std::vector<std::string> names = registry.names(t.kind);
        std::string hint = util::did_you_mean(name, names);
        if (hint.empty()) {
            std::string all;
            for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
            hint = all.empty() ? " (no " + host::kind_name(t.kind) + " plugin was found; see `cap plugins`)"
                               : " (available: " + all + ")";
        }
        // A library that was rejected at load may be the one the user means: say why it was.
        std::string rejected;
        for (const auto& r : registry.rejected())
            if (r.path.filename().string().find(name) != std::string::npos)
                rejected += "; " + r.path.string() + " was rejected: " + r.error;
        if (rejected.empty() && !registry.rejected().empty())
            rejected = "; " + std::to_string(registry.rejected().size()) + " plugin librar" +
                       (registry.rejected().size() == 1 ? "y was" : "ies were") +
                       " rejected at load (`cap plugins` says why)";
        errors.push_back(
            {name_origin, "unknown " + host::kind_name(t.kind) + " plugin '" + name + "'" + hint + rejected});
        return std::nullopt;
    }
    PluginUse use;
    use.section = t.section;
    use.plugin = lib;
    use.origin = name_origin;
    use.values = check_table(*t.table, lib->options(), host::kind_name(t.kind) + " plugin '" + name + "'",
                             "[" + t.section + "]", {"plugin"}, errors);
    return use;
}

// The backend: an explicit plugin must validate and be available; "auto" takes cuda when the
// table's keys validate against it and it is available with them, and cpu otherwise.
std::optional<PluginUse> resolve_backend(const Node& table, const host::PluginRegistry& registry, std::string& choice,
                                         std::vector<Diagnostic>& errors) {
    std::string requested = "auto";
    Origin origin = table.origin;
    if (const Node* p = table.find("plugin")) {
        if (p->type != Node::Type::String) {
            errors.push_back({p->origin, std::string("[backend] plugin must be a string, not ") + p->type_name()});
            return std::nullopt;
        }
        requested = p->string;
        origin = p->origin;
    }
    auto attempt = [&](const std::string& name, std::vector<Diagnostic>& sink) {
        Node pinned = table;
        Node value;
        value.type = Node::Type::String;
        value.string = name;
        value.origin = origin;
        pinned.set("plugin", value, origin);
        return resolve_plugin({"backend", CAP_KIND_BACKEND, &pinned, origin, ""}, registry, sink);
    };
    auto probe = [&](const PluginUse& use, std::string& reason) {
        try {
            auto p = host::probe_backend(*use.plugin, use.values);
            reason = p.reason;
            return p.available != 0;
        } catch (const std::exception& e) {
            reason = std::string("probe failed: ") + e.what();
            return false;
        }
    };
    std::string reason;
    if (requested == "auto") {
        std::vector<Diagnostic> cuda_errors;
        std::optional<PluginUse> cuda;
        if (registry.find(CAP_KIND_BACKEND, "cuda")) cuda = attempt("cuda", cuda_errors);
        if (cuda && cuda_errors.empty() && probe(*cuda, reason)) {
            choice = "auto: cuda";
            return cuda;
        }
        if (!registry.find(CAP_KIND_BACKEND, "cuda"))
            reason = "no cuda plugin";
        else if (!cuda_errors.empty())
            reason = "the [backend] keys do not fit it";
        choice = "auto: cpu (cuda unavailable: " + reason + ")";
        std::vector<Diagnostic> cpu_errors;
        auto cpu = attempt("cpu", cpu_errors);
        for (auto& d : cpu_errors) {
            d.message +=
                " (backend \"auto\" chose cpu: cuda " + (reason.empty() ? std::string("unavailable") : reason) + ")";
            errors.push_back(d);
        }
        return cpu;
    }
    choice = requested;
    const size_t before = errors.size();
    auto use = attempt(requested, errors);
    if (use && errors.size() == before && !probe(*use, reason)) {
        errors.push_back({origin, "backend '" + requested + "' is not available here: " + reason});
        return std::nullopt;
    }
    return use;
}

// A score-based criterion needs a per-step threshold; an importance-based one, pruning events.
void check_criterion_fits_schedule(const ResolvedRecipe& r, std::vector<Diagnostic>& errors) {
    const PluginUse& criterion_use = *r.criterion;
    const PluginUse* schedule_use = r.schedule ? &*r.schedule : nullptr;
    try {
        host::CriterionPlugin criterion(r.instantiate(criterion_use));
        if (auto problem = host::needs_problem(criterion.info()))
            errors.push_back({criterion_use.origin, "criterion '" + criterion_use.plugin->name() + "': " + *problem});
        if (!schedule_use) return;
        host::SchedulePlugin schedule(r.instantiate(*schedule_use));
        schedule.bind(r.model.shape, r.constraints);
        auto progress = host::blank_struct<cap_progress>();
        progress.total_steps = 100;
        progress.steps_per_epoch = 10;
        progress.total_epochs = 10;
        const bool thresholds = schedule.at(progress).target_kind == CAP_TARGET_THRESHOLD;
        const std::string names =
            "criterion '" + criterion_use.plugin->name() + "' and schedule '" + schedule_use->plugin->name() + "'";
        if (criterion.score_based() && schedule.num_stages() > 0)
            errors.push_back({schedule_use->origin, names + " do not fit: the criterion is score-based and needs a "
                                                            "per-step threshold, the schedule prunes in stages"});
        if (!criterion.score_based() && thresholds)
            errors.push_back({schedule_use->origin, names + " do not fit: the criterion ranks units at pruning "
                                                            "events, the schedule gives score thresholds"});
    } catch (const std::exception& e) {
        errors.push_back({criterion_use.origin, util::error_text(e)});
    }
}

// Rewrites every path value in the tree to the absolute path it resolved to, so the tree means
// the same wherever it is written out (the run folder's recipe.toml, the manifest).
void absolutize_paths(ResolvedRecipe& r) {
    auto set = [](Node* node, const std::string& value) {
        if (node && node->type == Node::Type::String) node->string = value;
    };
    auto table = [&](const std::string& key) { return r.tree.find(key); };
    if (Node* model = table("model")) {
        if (!r.model.folder.empty()) set(model->find("pretrained"), r.model.folder.string());
        if (!r.model.teacher_folder.empty()) set(model->find("teacher"), r.model.teacher_folder.string());
    }
    if (Node* task = table("task"); task && r.task && !r.task->data.empty())
        set(task->find("data"), r.task->data.string());
    for (const PluginUse* use : r.plugin_uses()) {
        Node* node = &r.tree;
        size_t start = 0;
        const std::string& section = use->section;  // "criterion" or "contrastive.prc"
        while (node && start <= section.size()) {
            const size_t dot = section.find('.', start);
            node = node->find(section.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
            if (dot == std::string::npos) break;
            start = dot + 1;
        }
        if (!node) continue;
        for (const auto& spec : use->plugin->options())
            if (spec.path && use->values.count(spec.name))
                set(node->find(spec.name), std::get<std::string>(use->values.at(spec.name)));
    }
}

}  // namespace

std::vector<const PluginUse*> ResolvedRecipe::plugin_uses() const {
    std::vector<const PluginUse*> out = {&backend};
    if (criterion) out.push_back(&*criterion);
    if (schedule) out.push_back(&*schedule);
    for (const auto& c : contrastive) out.push_back(&c);
    if (distill) out.push_back(&*distill);
    return out;
}

std::unique_ptr<host::PluginInstance> ResolvedRecipe::instantiate(const PluginUse& use) const {
    return std::make_unique<host::PluginInstance>(use.plugin, use.values, seed);
}

nlohmann::ordered_json ResolvedRecipe::to_json() const {
    nlohmann::ordered_json j;
    j["run"] = {{"name", run_name}, {"method", method}, {"seed", seed}};
    j["model"] = {{"pretrained", model.pretrained},
                  {"teacher", model.teacher},
                  {"shape",
                   {{"num_layers", model.shape.num_layers},
                    {"num_heads", model.shape.num_heads},
                    {"hidden_size", model.shape.hidden_size},
                    {"intermediate_size", model.shape.intermediate_size}}}};
    j["constraints"] = {{"min_heads_per_layer", constraints.min_heads_per_layer},
                        {"on_violation", stop_on_violation ? "stop" : "warn"}};
    if (task)
        j["task"] = {{"name", task->name},
                     {"data", task->data.string()},
                     {"max_seq_length", task->max_seq_length},
                     {"doc_stride", task->doc_stride},
                     {"max_query_length", task->max_query_length},
                     {"max_train_examples", task->max_train_examples},
                     {"max_eval_examples", task->max_eval_examples}};
    j["finetune"] = {{"batch_size", finetune.batch_size},       {"epochs", finetune.epochs},
                     {"learning_rate", finetune.learning_rate}, {"weight_decay", finetune.weight_decay},
                     {"warmup_ratio", finetune.warmup_ratio},   {"max_grad_norm", finetune.max_grad_norm},
                     {"adam_epsilon", finetune.adam_epsilon},   {"eval_batch_size", finetune.eval_batch_size}};
    const auto& t = prune.train;
    j["prune"] = {{"batch_size", t.batch_size},
                  {"learning_rate", t.learning_rate},
                  {"weight_decay", t.weight_decay},
                  {"warmup_ratio", t.warmup_ratio},
                  {"max_grad_norm", t.max_grad_norm},
                  {"adam_epsilon", t.adam_epsilon},
                  {"eval_batch_size", t.eval_batch_size},
                  {"ce_weight", prune.ce_weight},
                  {"representation", prune.representation},
                  {"importance_subset", prune.importance_subset},
                  {"importance_batch_size", prune.importance_batch_size},
                  {"save_masked", prune.save_masked}};
    auto plugin_json = [](const PluginUse& use) {
        nlohmann::ordered_json p;
        p["plugin"] = use.plugin->name();
        for (const auto& [k, v] : use.values) std::visit([&](const auto& x) { p[k] = x; }, v);
        return p;
    };
    j["backend"] = plugin_json(backend);
    if (criterion) j["criterion"] = plugin_json(*criterion);
    if (schedule) j["schedule"] = plugin_json(*schedule);
    for (const auto& c : contrastive)
        j["contrastive"][c.section.substr(std::string("contrastive.").size())] = plugin_json(c);
    if (distill) j["distill"] = plugin_json(*distill);
    return j;
}

ResolvedRecipe resolve_tree(LoadedRecipe loaded, const host::PluginRegistry& registry) {
    std::vector<Diagnostic> errors;
    ResolvedRecipe r;
    r.file = loaded.file;
    r.sources = loaded.sources;
    r.tree = std::move(loaded.root);
    const Node& root = r.tree;

    for (const auto& e : root.entries)
        if (std::find(kTopLevel.begin(), kTopLevel.end(), e.key) == kTopLevel.end())
            errors.push_back({e.key_origin, e.key == "sweep"
                                                ? std::string("this recipe declares a sweep: run it with `cap sweep`")
                                                : "unknown recipe table or key '" + e.key + "'" +
                                                      util::did_you_mean(e.key, kTopLevel)});

    HostTables host = check_host_tables(root, r.file.stem().string(), errors);
    r.run_name = host.run_name;
    r.method = host.method;
    r.seed = host.seed;
    r.model = host.model;
    r.constraints = host.constraints;
    r.stop_on_violation = host.stop_on_violation;
    r.task = host.task;
    r.finetune = host.finetune;
    r.prune = host.prune;

    if (auto b = resolve_backend(table_or_empty(root, "backend", errors), registry, r.backend_choice, errors))
        r.backend = std::move(*b);
    auto optional_plugin = [&](const char* key, cap_plugin_kind kind) -> std::optional<PluginUse> {
        const Entry* e = root.entry(key);
        if (!e) return std::nullopt;
        if (!e->value.is_table()) {
            table_or_empty(root, key, errors);  // reports the wrong type
            return std::nullopt;
        }
        return resolve_plugin({key, kind, &e->value, e->key_origin, ""}, registry, errors);
    };
    r.criterion = optional_plugin("criterion", CAP_KIND_CRITERION);
    r.schedule = optional_plugin("schedule", CAP_KIND_SCHEDULE);
    r.distill = optional_plugin("distill", CAP_KIND_DISTILL);
    if (root.entry("contrastive")) {
        const Node modules = table_or_empty(root, "contrastive", errors);
        for (const auto& m : modules.entries) {
            if (!m.value.is_table()) {
                errors.push_back({m.key_origin, "contrastive." + m.key + " must be a table ([contrastive." + m.key +
                                                    "]), not a " + m.value.type_name()});
                continue;
            }
            if (auto use = resolve_plugin({"contrastive." + m.key, CAP_KIND_CONTRASTIVE, &m.value, m.key_origin, m.key},
                                          registry, errors))
                r.contrastive.push_back(std::move(*use));
        }
    }
    // Heads are not units of an unstructured criterion: the constraints that protect them do not
    // limit its plan (a stage schedule at 95% of the weights would otherwise be refused).
    if (r.criterion && errors.empty()) {
        try {
            host::CriterionPlugin criterion(r.instantiate(*r.criterion));
            if (criterion.info().granularity == CAP_GRANULARITY_UNSTRUCTURED) r.constraints.min_heads_per_layer = 0;
        } catch (const std::exception&) {
            // reported, with its origin, by check_criterion_fits_schedule below
        }
    }
    // A schedule's plan depends on the model's shape and the constraints: check it now, so a
    // target the model cannot reach is a validation error, not a failure mid-run.
    if (r.schedule && errors.empty()) {
        try {
            host::SchedulePlugin schedule(r.instantiate(*r.schedule));
            schedule.bind(r.model.shape, r.constraints);
        } catch (const std::exception& e) {
            errors.push_back({r.schedule->origin,
                              std::string("schedule does not fit model ") + r.model.pretrained +
                                  " with min_heads_per_layer = " + std::to_string(r.constraints.min_heads_per_layer) +
                                  ": " + util::error_text(e)});
        }
    }
    if (r.criterion && errors.empty()) check_criterion_fits_schedule(r, errors);
    // Caught here, before any training: a recipe that would run and do nothing, or fine-tune a
    // teacher and then warn that it cannot prune. Checked once everything else is valid, so
    // a typo in [criterion] is not also reported as a missing schedule.
    if (errors.empty() && !root.entry("task"))
        errors.push_back({Origin{root.origin.file, 1, 1, ""},
                          "the recipe has no [task]: nothing to train or evaluate (add [task] with a name: "
                          "\"synthetic\", a GLUE task such as \"sst2\", or \"squad\")"});
    if (errors.empty() && r.criterion && !r.schedule)
        errors.push_back({r.criterion->origin,
                          "[criterion] prunes, and pruning needs a [schedule] too (add one, or remove [criterion] "
                          "to fine-tune only)"});
    if (errors.empty() && r.schedule && !r.criterion)
        errors.push_back({r.schedule->origin,
                          "[schedule] says when to prune, and pruning needs a [criterion] too (add one, or remove "
                          "[schedule] to fine-tune only)"});
    if (errors.empty()) absolutize_paths(r);
    if (!errors.empty()) {
        // In reading order: by file, line and column; command-line arguments last.
        std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
            return std::make_tuple(a.origin.from_command_line(), a.origin.file, a.origin.line, a.origin.column) <
                   std::make_tuple(b.origin.from_command_line(), b.origin.file, b.origin.line, b.origin.column);
        });
        throw RecipeErrors(std::move(errors));
    }
    return r;
}

ResolvedRecipe resolve_recipe(const fs::path& file, const Overrides& overrides, const host::PluginRegistry& registry) {
    LoadedRecipe loaded = load_recipe(file);
    apply_overrides(loaded.root, overrides);
    return resolve_tree(std::move(loaded), registry);
}

}  // namespace cap::recipe
