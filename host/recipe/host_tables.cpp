#include "recipe/host_tables.hpp"

#include <nlohmann/json.hpp>

#include <climits>
#include <fstream>
#include <map>

#include "hf/builtin_models.hpp"
#include "hf/hub_cache.hpp"
#include "hf/safetensors_format.hpp"
#include "recipe/schema_check.hpp"
#include "text/vocabulary.hpp"
#include "util/error_text.hpp"

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
    return {spec("name", CAP_OPTION_STRING, default_name, "run name; the run folder is named after it"), seed,
            spec("method", CAP_OPTION_STRING, std::string(),
                 "the method's name in reports (a table row, a plot series); empty: named after the plugins")};
}

std::vector<OptionSpec> model_schema() {
    return {spec("pretrained", CAP_OPTION_STRING, std::string("builtin:bert-tiny"),
                 "pre-trained model: builtin:bert-tiny, builtin:bert-base, a Hugging Face folder, or a Hugging "
                 "Face model id already in the local cache (bert-base-uncased, org/name@revision)"),
            spec("teacher", CAP_OPTION_STRING, std::string(""),
                 "fine-tuned teacher (Hugging Face folder or cached model id); empty: fine-tune the pre-trained "
                 "model first")};
}

std::vector<OptionSpec> constraints_schema() {
    auto heads = spec("min_heads_per_layer", CAP_OPTION_INT, int64_t{1},
                      "attention heads every layer keeps, whatever the criterion says");
    heads.min = 0;
    heads.max = INT32_MAX;
    auto violation = spec("on_violation", CAP_OPTION_STRING, std::string("warn"),
                          "a selection that leaves a layer below min_heads_per_layer: warn, record it in the stage "
                          "event and go on (the reference's behaviour), or stop the run (exit 1; resumable with "
                          "--resume DIR --set constraints.on_violation=warn)");
    violation.choices = {"warn", "stop"};
    return {heads, violation};
}

std::vector<OptionSpec> task_schema() {
    auto name = spec("name", CAP_OPTION_STRING, std::string(""), "task: a GLUE task, squad, or synthetic");
    name.required = true;
    name.default_value.reset();
    name.choices = settings::task_names();
    auto length =
        spec("max_seq_length", CAP_OPTION_INT, int64_t{128}, "tokens per input (longer inputs are truncated)");
    length.min = 8;
    length.max = 4096;
    auto stride = spec("doc_stride", CAP_OPTION_INT, int64_t{128}, "SQuAD: tokens shared by consecutive windows");
    stride.min = 1;
    auto query = spec("max_query_length", CAP_OPTION_INT, int64_t{64}, "SQuAD: question tokens kept");
    query.min = 1;
    auto train = spec("max_train_examples", CAP_OPTION_INT, int64_t{0}, "use the first N training examples; 0: all");
    train.min = 0;
    auto eval = spec("max_eval_examples", CAP_OPTION_INT, int64_t{0}, "use the first N dev examples; 0: all");
    eval.min = 0;
    return {name,
            spec("data", CAP_OPTION_STRING, std::string(""), "data folder (train.tsv and dev files, or SQuAD JSON)"),
            length,
            stride,
            query,
            train,
            eval};
}

// [finetune] and the training keys of [prune] (which has no epochs: the schedule says).
std::vector<OptionSpec> training_schema(const settings::FineTuneSettings& d, const char* epochs_doc) {
    auto positive_int = [&](const char* name, int64_t def, const char* doc) {
        auto s = spec(name, CAP_OPTION_INT, def, doc);
        s.min = 1;
        return s;
    };
    auto ranged = [&](const char* name, double def, double lo, double hi, const char* doc) {
        auto s = spec(name, CAP_OPTION_FLOAT, def, doc);
        s.min = lo;
        s.max = hi;
        return s;
    };
    std::vector<OptionSpec> out{positive_int("batch_size", d.batch_size, "training examples per step")};
    out.push_back(ranged("epochs", d.epochs, 1e-6, 1e6, epochs_doc));
    for (auto& s : std::vector<OptionSpec>{
             ranged("learning_rate", d.learning_rate, 0, 10, "AdamW learning rate at the end of warm-up"),
             ranged("weight_decay", d.weight_decay, 0, 10, "AdamW weight decay (not on biases and LayerNorm)"),
             ranged("warmup_ratio", d.warmup_ratio, 0, 1, "fraction of steps with a rising learning rate"),
             [&] {
                 auto w = spec("warmup_steps", CAP_OPTION_INT, d.warmup_steps,
                               "warm-up in optimizer steps; when > 0 it replaces warmup_ratio");
                 w.min = 0;
                 return w;
             }(),
             ranged("max_grad_norm", d.max_grad_norm, 0, 1e6, "gradient clipping norm; 0: none"),
             ranged("adam_epsilon", d.adam_epsilon, 1e-12, 1, "AdamW epsilon"),
             positive_int("eval_batch_size", d.eval_batch_size, "examples per evaluation batch"),
             positive_int("log_every", d.log_every, "steps between progress lines"),
             positive_int("keep_checkpoints", d.keep_checkpoints, "newest checkpoints kept per stage"),
             [&] {
                 auto c = spec("checkpoint_every_steps", CAP_OPTION_INT, d.checkpoint_every_steps,
                               "also checkpoint inside an epoch every N optimizer steps; 0: at epoch ends only");
                 c.min = 0;
                 return c;
             }()})
        out.push_back(std::move(s));
    return out;
}

std::vector<OptionSpec> prune_schema() {
    const settings::PruneSettings d;
    auto out = training_schema(d.train,
                               "training epochs with a per-step schedule (cubic); an iterative schedule sets "
                               "its own epochs per stage and ignores this");
    auto ce = spec("ce_weight", CAP_OPTION_FLOAT, d.ce_weight, "weight of cross-entropy (distillation has its own)");
    ce.min = 0;
    auto rep = spec("representation", CAP_OPTION_STRING, d.representation,
                    "what contrastive modules compare: cls (pooler output; [CLS] for QA) or mean (token mean)");
    rep.choices = {"cls", "mean"};
    auto subset = spec("importance_subset", CAP_OPTION_FLOAT, d.importance_subset,
                       "fraction of the training set (its first examples) the importance pass reads");
    subset.min = 1e-9;
    subset.max = 1;
    auto batch =
        spec("importance_batch_size", CAP_OPTION_INT, d.importance_batch_size, "examples per importance batch");
    batch.min = 1;
    out.push_back(ce);
    out.push_back(rep);
    out.push_back(subset);
    out.push_back(batch);
    out.push_back(spec("save_masked", CAP_OPTION_BOOL, d.save_masked,
                       "also save final-masked/: the dense model with pruned weights zeroed (loads anywhere)"));
    out.push_back(spec("freeze_embeddings", CAP_OPTION_BOOL, d.freeze_embeddings,
                       "unstructured pruning: keep the embeddings frozen, as the reference does"));
    return out;
}

void read_training(std::map<std::string, host::OptionValue>& v, settings::FineTuneSettings& f) {
    auto num = [&](const char* k, double& out) {
        if (v.count(k)) out = std::get<double>(v[k]);
    };
    auto whole = [&](const char* k, int64_t& out) {
        if (v.count(k)) out = std::get<int64_t>(v[k]);
    };
    whole("batch_size", f.batch_size);
    num("epochs", f.epochs);
    num("learning_rate", f.learning_rate);
    num("weight_decay", f.weight_decay);
    num("warmup_ratio", f.warmup_ratio);
    whole("warmup_steps", f.warmup_steps);
    num("max_grad_norm", f.max_grad_norm);
    num("adam_epsilon", f.adam_epsilon);
    whole("eval_batch_size", f.eval_batch_size);
    whole("log_every", f.log_every);
    whole("keep_checkpoints", f.keep_checkpoints);
    whole("checkpoint_every_steps", f.checkpoint_every_steps);
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

// A model a recipe names: a folder (relative to the file that wrote it) when one is there, else
// a Hugging Face id from the local cache. Returns the folder and its shape, or reports why not.
std::optional<fs::path> resolve_model_folder(const std::string& value, const Origin& origin, const std::string& key,
                                             cap_model_shape& shape, std::vector<Diagnostic>& errors) {
    const auto found = hf::find_model(value, origin.base_dir());
    std::string problem = found.problem;
    if (found.folder && read_model_shape(*found.folder, shape, problem)) return found.folder;
    errors.push_back({origin, key + ": " + problem});
    return std::nullopt;
}

}  // namespace

cap_model_shape make_shape(int layers, int heads, int hidden, int intermediate) {
    cap_model_shape s{};
    s.struct_size = sizeof(s);
    s.num_layers = layers;
    s.num_heads = heads;
    s.hidden_size = hidden;
    s.intermediate_size = intermediate;
    return s;
}

Node table_or_empty(const Node& root, const std::string& key, std::vector<Diagnostic>& errors) {
    const Entry* e = root.entry(key);
    if (e && e->value.is_table()) return e->value;
    if (e)
        errors.push_back(
            {e->key_origin, "'" + key + "' must be a table ([" + key + "]), not a " + e->value.type_name()});
    return Node::table(Origin{root.origin.file, 1, 1, ""});
}

cap_model_shape model_shape(const hf::BertConfig& c) {
    return make_shape(static_cast<int>(c.num_hidden_layers), static_cast<int>(c.num_attention_heads),
                      static_cast<int>(c.hidden_size), static_cast<int>(c.intermediate_size));
}

bool read_model_shape(const fs::path& folder, cap_model_shape& shape, std::string& problem) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) {
        problem = hf::missing_model_folder(folder);
        return false;
    }
    if (!fs::exists(folder / "config.json", ec)) {
        problem = "no config.json in " + folder.string();
        return false;
    }
    try {
        const auto config = hf::BertConfig::load(folder / "config.json");
        for (int64_t v :
             {config.num_hidden_layers, config.num_attention_heads, config.hidden_size, config.intermediate_size})
            if (v > INT32_MAX) throw std::runtime_error((folder / "config.json").string() + ": sizes beyond 2^31");
        shape = model_shape(config);
        // The weights' header is cheap to read: a truncated or corrupt file fails here, not
        // after the teacher has been fine-tuned.
        if (fs::exists(folder / "model.safetensors", ec))
            hf::check_config_against_weights(config, hf::read_safetensors_header(folder / "model.safetensors"),
                                             folder / "config.json", folder / "model.safetensors");
        // Read as the run will read it (bad bytes, blank lines, a token twice), before anything runs.
        if (fs::exists(folder / "vocab.txt", ec))
            hf::check_vocabulary_size(config, text::Vocabulary::load(folder / "vocab.txt").size(),
                                      folder / "config.json", folder / "vocab.txt");
    } catch (const std::exception& e) {
        problem = util::error_text(e);
        return false;
    }
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
    if (run_values.count("method")) t.method = std::get<std::string>(run_values["method"]);
    if (run_values.count("seed")) t.seed = static_cast<uint64_t>(std::get<int64_t>(run_values["seed"]));

    const Node model = table_or_empty(root, "model", errors);
    auto model_values = check_table(model, model_schema(), "", "[model]", {}, errors);
    if (model_values.count("pretrained")) {
        ModelSpec& m = t.model;
        m.pretrained = std::get<std::string>(model_values["pretrained"]);
        const Origin origin = origin_of(model, "pretrained");
        if (hf::is_builtin_model(m.pretrained)) {
            if (auto config = hf::builtin_config(m.pretrained)) {
                m.shape = model_shape(*config);
            } else {
                std::string names;
                for (const auto& n : hf::builtin_model_names()) names += (names.empty() ? "" : ", ") + n;
                errors.push_back({origin, "unknown built-in model '" + m.pretrained + "' (" + names + ")"});
            }
        } else if (auto folder = resolve_model_folder(m.pretrained, origin, "model.pretrained", m.shape, errors)) {
            m.folder = *folder;
        }
    }
    if (model_values.count("teacher")) {
        ModelSpec& m = t.model;
        m.teacher = std::get<std::string>(model_values["teacher"]);
        if (!m.teacher.empty()) {
            const Origin origin = origin_of(model, "teacher");
            cap_model_shape teacher_shape{};
            auto folder = resolve_model_folder(m.teacher, origin, "model.teacher", teacher_shape, errors);
            if (folder) m.teacher_folder = *folder;
            if (folder && m.shape.hidden_size && teacher_shape.hidden_size != m.shape.hidden_size)
                errors.push_back({origin, "model.teacher has hidden size " + std::to_string(teacher_shape.hidden_size) +
                                              " but the pre-trained model has " + std::to_string(m.shape.hidden_size) +
                                              " (contrastive banks compare their representations)"});
        }
    }

    if (root.find("task")) {
        const Node task = table_or_empty(root, "task", errors);
        auto v = check_table(task, task_schema(), "", "[task]", {}, errors);
        if (v.count("name")) {
            settings::TaskConfig c;
            c.name = std::get<std::string>(v["name"]);
            c.max_seq_length = std::get<int64_t>(v["max_seq_length"]);
            c.doc_stride = std::get<int64_t>(v["doc_stride"]);
            c.max_query_length = std::get<int64_t>(v["max_query_length"]);
            c.max_train_examples = std::get<int64_t>(v["max_train_examples"]);
            c.max_eval_examples = std::get<int64_t>(v["max_eval_examples"]);
            c.seed = t.seed;
            const std::string data = std::get<std::string>(v["data"]);
            const Origin data_origin = origin_of(task, "data");
            if (c.name != "synthetic") {
                std::error_code ec;
                if (data.empty())
                    errors.push_back({origin_of(task, "name"), "[task] " + c.name + " needs data = \"<folder>\""});
                else if (c.data = resolve_folder(data, data_origin); !fs::is_directory(c.data, ec))
                    errors.push_back({data_origin, "task.data: no such folder: " + c.data.string()});
                if (hf::is_builtin_model(t.model.pretrained))
                    errors.push_back(
                        {origin_of(task, "name"),
                         "task " + c.name +
                             " tokenizes text, and built-in models have "
                             "no vocabulary: use a Hugging Face folder or cached model id as model.pretrained"});
                else if (!t.model.folder.empty() && !fs::exists(t.model.folder / "vocab.txt", ec))
                    errors.push_back({origin_of(model, "pretrained"),
                                      "model.pretrained has no vocab.txt, which task " + c.name + " needs"});
            }
            t.task = c;
        }
    }
    if (root.find("finetune")) {
        const Node table = table_or_empty(root, "finetune", errors);
        auto v =
            check_table(table, training_schema(settings::FineTuneSettings{}, "training epochs (fractions allowed)"), "",
                        "[finetune]", {}, errors);
        read_training(v, t.finetune);
    }
    if (root.find("prune")) {
        const Node table = table_or_empty(root, "prune", errors);
        auto v = check_table(table, prune_schema(), "", "[prune]", {}, errors);
        auto& p = t.prune;
        read_training(v, p.train);
        if (v.count("ce_weight")) p.ce_weight = std::get<double>(v["ce_weight"]);
        if (v.count("representation")) p.representation = std::get<std::string>(v["representation"]);
        if (v.count("importance_subset")) p.importance_subset = std::get<double>(v["importance_subset"]);
        if (v.count("importance_batch_size")) p.importance_batch_size = std::get<int64_t>(v["importance_batch_size"]);
        if (v.count("save_masked")) p.save_masked = std::get<bool>(v["save_masked"]);
        if (v.count("freeze_embeddings")) p.freeze_embeddings = std::get<bool>(v["freeze_embeddings"]);
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
    if (limit_values.count("on_violation"))
        t.stop_on_violation = std::get<std::string>(limit_values["on_violation"]) == "stop";
    return t;
}

}  // namespace cap::recipe
