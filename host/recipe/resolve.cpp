#include "recipe/resolve.hpp"

#include <algorithm>
#include <fstream>
#include <tuple>

#include "plugin/backend_plugin.hpp"
#include "plugin/kind.hpp"
#include "plugin/schedule_plugin.hpp"
#include "recipe/schema_check.hpp"
#include "util/suggest.hpp"

namespace fs = std::filesystem;

namespace cap::recipe {

namespace {

using host::OptionSpec;

const std::vector<std::string> kTopLevel = {"run",       "model",    "constraints", "backend",
                                            "criterion", "schedule", "contrastive", "distill"};

OptionSpec spec(std::string name, cap_option_type type, host::OptionValue def, std::string doc) {
    OptionSpec s;
    s.name = std::move(name);
    s.type = type;
    s.default_value = std::move(def);
    s.doc = std::move(doc);
    return s;
}

std::vector<OptionSpec> run_schema(const std::string& default_name) {
    auto seed = spec("seed", CAP_OPTION_INT, int64_t{42}, "seed of every random generator");
    seed.min = 0;
    return {spec("name", CAP_OPTION_STRING, default_name, "run name; the run folder is named after it"),
            seed};
}

std::vector<OptionSpec> model_schema() {
    return {spec("pretrained", CAP_OPTION_STRING, std::string("builtin:bert-tiny"),
                 "pre-trained model: builtin:bert-tiny, builtin:bert-base, or a Hugging Face folder")};
}

std::vector<OptionSpec> constraints_schema() {
    auto heads = spec("min_heads_per_layer", CAP_OPTION_INT, int64_t{1},
                      "attention heads every layer keeps, whatever the criterion says");
    heads.min = 0;
    return {heads};
}

const Node& table_or_empty(const Node& root, const std::string& key, std::vector<Diagnostic>& errors) {
    static const Node empty = Node::table();
    const Entry* e = root.entry(key);
    if (!e) return empty;
    if (!e->value.is_table()) {
        errors.push_back({e->key_origin, "'" + key + "' must be a table ([" + key + "]), not a " +
                                             e->value.type_name()});
        return empty;
    }
    return e->value;
}

cap_model_shape shape(int layers, int heads, int hidden, int intermediate) {
    cap_model_shape s{};
    s.struct_size = sizeof(s);
    s.num_layers = layers;
    s.num_heads = heads;
    s.hidden_size = hidden;
    s.intermediate_size = intermediate;
    return s;
}

// Reads the encoder shape from a Hugging Face config.json.
std::optional<cap_model_shape> read_config(const fs::path& folder, std::string& problem) {
    const fs::path config = folder / "config.json";
    std::ifstream in(config);
    if (!in) {
        problem = "no config.json in " + folder.string();
        return std::nullopt;
    }
    nlohmann::json j;
    try {
        in >> j;
    } catch (const std::exception& e) {
        problem = config.string() + " is not valid JSON: " + e.what();
        return std::nullopt;
    }
    int values[4] = {0, 0, 0, 0};
    const char* keys[4] = {"num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size"};
    for (int i = 0; i < 4; ++i) {
        if (!j.contains(keys[i]) || !j[keys[i]].is_number_integer() || j[keys[i]].get<int>() <= 0) {
            problem = config.string() + ": missing or invalid '" + keys[i] + "'";
            return std::nullopt;
        }
        values[i] = j[keys[i]].get<int>();
    }
    return shape(values[0], values[1], values[2], values[3]);
}

ModelSpec resolve_model(const Node& table, const host::OptionValues& values,
                        std::vector<Diagnostic>& errors) {
    ModelSpec m;
    m.pretrained = std::get<std::string>(values.at("pretrained"));
    const Node* node = table.find("pretrained");
    const Origin origin = node ? node->origin : table.origin;
    if (m.pretrained == "builtin:bert-tiny") {
        m.shape = shape(2, 2, 128, 512);
    } else if (m.pretrained == "builtin:bert-base") {
        m.shape = shape(12, 12, 768, 3072);
    } else if (m.pretrained.rfind("builtin:", 0) == 0) {
        errors.push_back({origin, "unknown built-in model '" + m.pretrained +
                                      "' (builtin:bert-tiny, builtin:bert-base)"});
    } else {
        fs::path folder(m.pretrained);
        if (folder.is_relative()) folder = origin.base_dir() / folder;
        m.folder = folder.lexically_normal();
        std::string problem;
        if (auto s = read_config(m.folder, problem))
            m.shape = *s;
        else
            errors.push_back({origin, "model.pretrained: " + problem});
    }
    return m;
}

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
        errors.push_back({name_origin, e.what()});
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
        errors.push_back({name_origin, "unknown " + host::kind_name(t.kind) + " plugin '" + name + "'" + hint});
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

// "auto" picks cuda when it is available, else cpu; an explicit choice must be available.
std::optional<PluginUse> resolve_backend(const Node& table, const host::PluginRegistry& registry,
                                         std::string& choice, std::vector<Diagnostic>& errors) {
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
    std::string pick = requested;
    if (requested == "auto") {
        pick = "cpu";
        choice = "auto: cpu";
        try {
            if (auto cuda = registry.find(CAP_KIND_BACKEND, "cuda")) {
                auto probe = host::probe_backend(*cuda);
                if (probe.available) {
                    pick = "cuda";
                    choice = "auto: cuda";
                } else {
                    choice = std::string("auto: cpu (cuda unavailable: ") + probe.reason + ")";
                }
            }
        } catch (const std::exception& e) {
            choice = std::string("auto: cpu (cuda probe failed: ") + e.what() + ")";
        }
    } else {
        choice = requested;
    }
    Node adjusted = table;
    adjusted.set("plugin", [&] {
        Node n;
        n.type = Node::Type::String;
        n.string = pick;
        n.origin = origin;
        return n;
    }(), origin);
    auto use = resolve_plugin({"backend", CAP_KIND_BACKEND, &adjusted, origin, "cpu"}, registry, errors);
    if (use && requested != "auto") {
        try {
            auto probe = host::probe_backend(*use->plugin);
            if (!probe.available) {
                errors.push_back({origin, "backend '" + pick + "' is not available here: " + probe.reason});
                return std::nullopt;
            }
        } catch (const std::exception& e) {
            errors.push_back({origin, std::string("backend '") + pick + "' probe failed: " + e.what()});
            return std::nullopt;
        }
    }
    return use;
}

host::OptionValues checked(const Node& root, const std::string& key, const std::vector<OptionSpec>& schema,
                           std::vector<Diagnostic>& errors) {
    return check_table(table_or_empty(root, key, errors), schema, "", "[" + key + "]", {}, errors);
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

nlohmann::ordered_json ResolvedRecipe::to_json() const {
    nlohmann::ordered_json j;
    j["run"] = {{"name", run_name}, {"seed", seed}};
    j["model"] = {{"pretrained", model.pretrained},
                  {"shape",
                   {{"num_layers", model.shape.num_layers},
                    {"num_heads", model.shape.num_heads},
                    {"hidden_size", model.shape.hidden_size},
                    {"intermediate_size", model.shape.intermediate_size}}}};
    j["constraints"] = {{"min_heads_per_layer", constraints.min_heads_per_layer}};
    auto plugin_json = [](const PluginUse& use) {
        nlohmann::ordered_json p;
        p["plugin"] = use.plugin->name();
        for (const auto& [k, v] : use.values)
            std::visit([&](const auto& x) { p[k] = x; }, v);
        return p;
    };
    j["backend"] = plugin_json(backend);
    if (criterion) j["criterion"] = plugin_json(*criterion);
    if (schedule) j["schedule"] = plugin_json(*schedule);
    for (const auto& c : contrastive) j["contrastive"][c.section.substr(std::string("contrastive.").size())] = plugin_json(c);
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
            errors.push_back({e.key_origin, "unknown recipe table or key '" + e.key + "'" +
                                                util::did_you_mean(e.key, kTopLevel)});

    auto run = checked(root, "run", run_schema(r.file.stem().string()), errors);
    if (run.count("name")) r.run_name = std::get<std::string>(run["name"]);
    if (run.count("seed")) r.seed = static_cast<uint64_t>(std::get<int64_t>(run["seed"]));
    auto model = checked(root, "model", model_schema(), errors);
    if (model.count("pretrained")) r.model = resolve_model(table_or_empty(root, "model", errors), model, errors);
    auto limits = checked(root, "constraints", constraints_schema(), errors);
    r.constraints.struct_size = sizeof(cap_constraints);
    if (limits.count("min_heads_per_layer"))
        r.constraints.min_heads_per_layer = static_cast<int32_t>(std::get<int64_t>(limits["min_heads_per_layer"]));

    if (auto b = resolve_backend(table_or_empty(root, "backend", errors), registry, r.backend_choice, errors))
        r.backend = std::move(*b);
    auto optional_plugin = [&](const char* key, cap_plugin_kind kind) -> std::optional<PluginUse> {
        const Entry* e = root.entry(key);
        if (!e) return std::nullopt;
        const Node& table = table_or_empty(root, key, errors);
        if (&table != &e->value) return std::nullopt;  // wrong type, already reported
        return resolve_plugin({key, kind, &table, e->key_origin, ""}, registry, errors);
    };
    r.criterion = optional_plugin("criterion", CAP_KIND_CRITERION);
    r.schedule = optional_plugin("schedule", CAP_KIND_SCHEDULE);
    r.distill = optional_plugin("distill", CAP_KIND_DISTILL);
    if (root.entry("contrastive")) {
        const Node& modules = table_or_empty(root, "contrastive", errors);
        for (const auto& m : modules.entries) {
            if (!m.value.is_table()) {
                errors.push_back({m.key_origin, "contrastive." + m.key + " must be a table ([contrastive." +
                                                    m.key + "]), not a " + m.value.type_name()});
                continue;
            }
            if (auto use = resolve_plugin({"contrastive." + m.key, CAP_KIND_CONTRASTIVE, &m.value,
                                           m.key_origin, m.key},
                                          registry, errors))
                r.contrastive.push_back(std::move(*use));
        }
    }
    // A schedule's plan depends on the model's shape and the constraints: check it now, so a
    // target the model cannot reach is a validation error, not a failure mid-run.
    if (r.schedule && errors.empty()) {
        try {
            host::SchedulePlugin schedule(std::make_unique<host::PluginInstance>(r.schedule->plugin, r.schedule->values));
            schedule.bind(r.model.shape, r.constraints);
        } catch (const std::exception& e) {
            errors.push_back({r.schedule->origin, std::string("schedule does not fit model ") + r.model.pretrained +
                                                      " with min_heads_per_layer = " +
                                                      std::to_string(r.constraints.min_heads_per_layer) + ": " + e.what()});
        }
    }
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

ResolvedRecipe resolve_recipe(const fs::path& file, const Overrides& overrides,
                              const host::PluginRegistry& registry) {
    LoadedRecipe loaded = load_recipe(file);
    apply_overrides(loaded.root, overrides);
    return resolve_tree(std::move(loaded), registry);
}

}  // namespace cap::recipe
