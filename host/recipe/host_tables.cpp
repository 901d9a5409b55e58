#include "recipe/host_tables.hpp"

#include <nlohmann/json.hpp>

#include <climits>
#include <fstream>

#include "recipe/schema_check.hpp"

namespace fs = std::filesystem;

namespace cap::recipe {

namespace {

using host::OptionSpec;

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
    return {spec("name", CAP_OPTION_STRING, default_name, "run name; the run folder is named after it"), seed};
}

std::vector<OptionSpec> model_schema() {
    return {spec("pretrained", CAP_OPTION_STRING, std::string("builtin:bert-tiny"),
                 "pre-trained model: builtin:bert-tiny, builtin:bert-base, or a Hugging Face folder"),
            spec("teacher", CAP_OPTION_STRING, std::string(""),
                 "fine-tuned teacher (Hugging Face folder); empty: fine-tune the pre-trained model first")};
}

std::vector<OptionSpec> constraints_schema() {
    auto heads = spec("min_heads_per_layer", CAP_OPTION_INT, int64_t{1},
                      "attention heads every layer keeps, whatever the criterion says");
    heads.min = 0;
    heads.max = INT32_MAX;
    return {heads};
}

cap_model_shape make_shape(int layers, int heads, int hidden, int intermediate) {
    cap_model_shape s{};
    s.struct_size = sizeof(s);
    s.num_layers = layers;
    s.num_heads = heads;
    s.hidden_size = hidden;
    s.intermediate_size = intermediate;
    return s;
}

// Letters, digits, '.', '_' and '-': the name becomes a folder under runs/.
bool valid_run_name(const std::string& name) {
    if (name.empty() || name == "." || name == "..") return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    return true;
}

Origin origin_of(const Node& table, const char* key) {
    const Node* n = table.find(key);
    return n ? n->origin : table.origin;
}

fs::path resolve_folder(const std::string& value, const Origin& origin) {
    fs::path folder(value);
    if (folder.is_relative()) folder = origin.base_dir() / folder;
    return folder.lexically_normal();
}

}  // namespace

Node table_or_empty(const Node& root, const std::string& key, std::vector<Diagnostic>& errors) {
    const Entry* e = root.entry(key);
    if (e && e->value.is_table()) return e->value;
    if (e) errors.push_back({e->key_origin, "'" + key + "' must be a table ([" + key + "]), not a " + e->value.type_name()});
    return Node::table(Origin{root.origin.file, 1, 1, ""});
}

bool read_model_shape(const fs::path& folder, cap_model_shape& shape, std::string& problem) {
    const fs::path config = folder / "config.json";
    std::ifstream in(config);
    if (!in) {
        problem = "no config.json in " + folder.string();
        return false;
    }
    nlohmann::json j;
    try {
        in >> j;
    } catch (const std::exception& e) {
        problem = config.string() + " is not valid JSON: " + e.what();
        return false;
    }
    int values[4] = {0, 0, 0, 0};
    const char* keys[4] = {"num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size"};
    for (int i = 0; i < 4; ++i) {
        if (!j.is_object() || !j.contains(keys[i]) || !j[keys[i]].is_number_integer() || j[keys[i]].get<int64_t>() <= 0 ||
            j[keys[i]].get<int64_t>() > INT32_MAX) {
            problem = config.string() + ": missing or invalid '" + keys[i] + "'";
            return false;
        }
        values[i] = j[keys[i]].get<int>();
    }
    shape = make_shape(values[0], values[1], values[2], values[3]);
    return true;
}

HostTables check_host_tables(const Node& root, const std::string& default_name, std::vector<Diagnostic>& errors) {
    HostTables t;
    const Node run = table_or_empty(root, "run", errors);
    auto run_values = check_table(run, run_schema(default_name), "", "[run]", {}, errors);
    if (run_values.count("name")) {
        t.run_name = std::get<std::string>(run_values["name"]);
        if (!valid_run_name(t.run_name))
            errors.push_back({origin_of(run, "name"), "run name '" + t.run_name +
                                                          "' must be letters, digits, '.', '_' and '-' only "
                                                          "(it names the run folder)"});
    }
    if (run_values.count("seed")) t.seed = static_cast<uint64_t>(std::get<int64_t>(run_values["seed"]));

    const Node model = table_or_empty(root, "model", errors);
    auto model_values = check_table(model, model_schema(), "", "[model]", {}, errors);
    if (model_values.count("pretrained")) {
        ModelSpec& m = t.model;
        m.pretrained = std::get<std::string>(model_values["pretrained"]);
        const Origin origin = origin_of(model, "pretrained");
        if (m.pretrained == "builtin:bert-tiny") {
            m.shape = make_shape(2, 2, 128, 512);
        } else if (m.pretrained == "builtin:bert-base") {
            m.shape = make_shape(12, 12, 768, 3072);
        } else if (m.pretrained.rfind("builtin:", 0) == 0) {
            errors.push_back({origin, "unknown built-in model '" + m.pretrained + "' (builtin:bert-tiny, builtin:bert-base)"});
        } else {
            m.folder = resolve_folder(m.pretrained, origin);
            std::string problem;
            if (!read_model_shape(m.folder, m.shape, problem)) errors.push_back({origin, "model.pretrained: " + problem});
        }
    }
    if (model_values.count("teacher")) {
        ModelSpec& m = t.model;
        m.teacher = std::get<std::string>(model_values["teacher"]);
        if (!m.teacher.empty()) {
            const Origin origin = origin_of(model, "teacher");
            m.teacher_folder = resolve_folder(m.teacher, origin);
            cap_model_shape teacher_shape{};
            std::string problem;
            if (!read_model_shape(m.teacher_folder, teacher_shape, problem))
                errors.push_back({origin, "model.teacher: " + problem});
            else if (m.shape.hidden_size && teacher_shape.hidden_size != m.shape.hidden_size)
                errors.push_back({origin, "model.teacher has hidden size " + std::to_string(teacher_shape.hidden_size) +
                                              " but the pre-trained model has " +
                                              std::to_string(m.shape.hidden_size) +
                                              " (contrastive banks compare their representations)"});
        }
    }

    const Node limits = table_or_empty(root, "constraints", errors);
    auto limit_values = check_table(limits, constraints_schema(), "", "[constraints]", {}, errors);
    t.constraints.struct_size = sizeof(cap_constraints);
    if (limit_values.count("min_heads_per_layer")) {
        const int64_t heads = std::get<int64_t>(limit_values["min_heads_per_layer"]);
        t.constraints.min_heads_per_layer = static_cast<int32_t>(heads);
        if (t.model.shape.num_heads > 0 && heads > t.model.shape.num_heads)
            errors.push_back({origin_of(limits, "min_heads_per_layer"),
                              "min_heads_per_layer = " + std::to_string(heads) + " exceeds the " +
                                  std::to_string(t.model.shape.num_heads) + " heads per layer of " +
                                  t.model.pretrained});
    }
    return t;
}

}  // namespace cap::recipe
