#include "sweep/sweep_spec.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "util/suggest.hpp"

namespace cap::sweep {

using recipe::Diagnostic;
using recipe::Entry;
using recipe::Node;
using recipe::Origin;

bool good_label(const std::string& s) {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                       }) &&
           s != "." && s != "..";
}

namespace {

// A value's text as a default label: 0.1 -> "0.1", 3 -> "3", "cls" -> "cls".
std::string label_of(const Node& v) {
    switch (v.type) {
        case Node::Type::Bool: return v.boolean ? "true" : "false";
        case Node::Type::Int: return std::to_string(v.integer);
        case Node::Type::Float: {
            char buf[64];
            std::snprintf(buf, sizeof(buf), "%.10g", v.floating);
            return buf;
        }
        case Node::Type::String: return v.string;
        default: return "";
    }
}

void check_keys(const Node& table, const std::vector<std::string>& allowed, const char* where,
                std::vector<Diagnostic>& errors) {
    for (const auto& e : table.entries)
        if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end())
            errors.push_back({e.key_origin, std::string("unknown key '") + e.key + "' in " + where +
                                                util::did_you_mean(e.key, allowed)});
}

const Node* typed(const Node& table, const std::string& key, Node::Type type, const char* type_name,
                  std::vector<Diagnostic>& errors) {
    const Node* v = table.find(key);
    if (v && v->type != type) {
        errors.push_back({v->origin, "'" + key + "' must be " + type_name + ", not " + v->type_name()});
        return nullptr;
    }
    return v;
}

std::vector<std::string> key_path(const std::string& dotted, const Origin& origin, std::vector<Diagnostic>& errors) {
    try {
        return recipe::split_key_path(dotted);
    } catch (const std::invalid_argument& e) {
        errors.push_back({origin, std::string("'") + dotted + "': " + e.what()});
        return {};
    }
}

// `set = { "a.b" = 1, c = { d = 2 } }`: every leaf as a key path. An empty table is a leaf
// (it adds a table, e.g. a contrastive module with its defaults).
void flatten_sets(const Node& table, std::vector<std::string> prefix, Variant& out, std::vector<Diagnostic>& errors) {
    for (const auto& e : table.entries) {
        auto keys = prefix;
        auto parts = key_path(e.key, e.key_origin, errors);
        if (parts.empty()) continue;
        keys.insert(keys.end(), parts.begin(), parts.end());
        if (e.value.is_table() && !e.value.entries.empty())
            flatten_sets(e.value, keys, out, errors);
        else
            out.sets.emplace_back(keys, e.value);
    }
}

Variant parse_variant(const Node& v, std::vector<Diagnostic>& errors) {
    Variant out;
    out.origin = v.origin;
    if (!v.is_table()) {
        errors.push_back(
            {v.origin, std::string("a variant must be a table { label = ..., set = {...} }, not ") + v.type_name()});
        return out;
    }
    check_keys(v, {"label", "recipe", "set", "unset"}, "a sweep variant", errors);
    if (const Node* l = typed(v, "label", Node::Type::String, "a string", errors))
        out.label = l->string;
    else if (!v.find("label"))
        errors.push_back({v.origin, "a variant needs a 'label' (it names the runs)"});
    if (const Node* r = typed(v, "recipe", Node::Type::String, "a string (a recipe file)", errors)) {
        out.recipe = r->string;
        out.recipe_origin = r->origin;
    }
    if (const Node* s = typed(v, "set", Node::Type::Table, "a table of keys and values", errors))
        flatten_sets(*s, {}, out, errors);
    if (const Node* u = typed(v, "unset", Node::Type::Array, "an array of keys", errors))
        for (const auto& item : u->items) {
            if (item.type != Node::Type::String) {
                errors.push_back({item.origin, "'unset' entries must be strings (dotted keys)"});
                continue;
            }
            auto keys = key_path(item.string, item.origin, errors);
            if (!keys.empty()) out.unsets.emplace_back(keys, item.origin);
        }
    return out;
}

Axis parse_axis(const Node& a, std::vector<Diagnostic>& errors) {
    Axis axis;
    axis.origin = a.origin;
    check_keys(a, {"name", "key", "values", "labels", "variants"}, "[[sweep.axis]]", errors);
    const Node* key = typed(a, "key", Node::Type::String, "a string (a dotted recipe key)", errors);
    const Node* values = typed(a, "values", Node::Type::Array, "an array", errors);
    const Node* labels = typed(a, "labels", Node::Type::Array, "an array of strings", errors);
    const Node* variants = typed(a, "variants", Node::Type::Array, "an array of tables", errors);
    if (const Node* n = typed(a, "name", Node::Type::String, "a string", errors)) axis.name = n->string;

    if (variants && (key || values || labels)) {
        errors.push_back({a.origin, "an axis has either 'key' and 'values' or 'variants', not both"});
        return axis;
    }
    if (variants) {
        if (axis.name.empty()) errors.push_back({a.origin, "an axis of variants needs a 'name'"});
        for (const auto& v : variants->items) axis.variants.push_back(parse_variant(v, errors));
    } else if (key && values) {
        auto path = key_path(key->string, key->origin, errors);
        if (path.empty()) return axis;
        if (axis.name.empty()) axis.name = path.back();
        if (labels && labels->items.size() != values->items.size())
            errors.push_back({labels->origin, "'labels' has " + std::to_string(labels->items.size()) +
                                                  " entries but 'values' has " + std::to_string(values->items.size())});
        for (size_t i = 0; i < values->items.size(); ++i) {
            Variant v;
            v.origin = values->items[i].origin;
            v.sets.emplace_back(path, values->items[i]);
            if (labels && i < labels->items.size()) {
                if (labels->items[i].type != Node::Type::String)
                    errors.push_back({labels->items[i].origin, "labels must be strings"});
                v.label = labels->items[i].string;
                v.origin = labels->items[i].origin;
            } else {
                v.label = label_of(values->items[i]);
                if (v.label.empty())
                    errors.push_back({values->items[i].origin, std::string("a ") + values->items[i].type_name() +
                                                                   " value needs a label: add 'labels'"});
            }
            axis.variants.push_back(std::move(v));
        }
    } else {
        errors.push_back({a.origin, "an axis needs 'key' and 'values', or 'name' and 'variants'"});
    }
    if (axis.variants.empty() && (variants || values))
        errors.push_back({a.origin, "axis '" + axis.name + "' has no values"});

    if (!axis.name.empty() && !good_label(axis.name))
        errors.push_back({a.origin, "axis name '" + axis.name + "': use letters, digits, '.', '_' or '-'"});
    std::set<std::string> seen;
    for (const auto& v : axis.variants) {
        if (v.label.empty()) continue;
        if (!good_label(v.label))
            errors.push_back({v.origin, "label '" + v.label + "' names folders: use letters, digits, '.', '_' or '-'"});
        if (!seen.insert(v.label).second)
            errors.push_back({v.origin, "axis '" + axis.name + "' has the label '" + v.label + "' twice"});
    }
    return axis;
}

std::vector<Axis> parse_axes(const Node& table, const char* where, std::vector<Diagnostic>& errors) {
    std::vector<Axis> axes;
    const Node* list = typed(table, "axis", Node::Type::Array, "an array of tables ([[...axis]])", errors);
    if (!list) return axes;
    for (const auto& a : list->items) {
        if (!a.is_table()) {
            errors.push_back({a.origin, std::string("each ") + where + " must be a table"});
            continue;
        }
        axes.push_back(parse_axis(a, errors));
    }
    std::set<std::string> names;
    for (const auto& a : axes)
        if (!a.name.empty() && !names.insert(a.name).second)
            errors.push_back({a.origin, "two axes are named '" + a.name + "'"});
    return axes;
}

void parse_slurm(const Node& s, SlurmSettings& out, std::vector<Diagnostic>& errors) {
    check_keys(s,
               {"partition", "account", "time", "mem", "gres", "cpus_per_task", "max_parallel", "stop_signal_seconds",
                "setup", "sbatch"},
               "[sweep.slurm]", errors);
    auto str = [&](const char* key, std::string& into) {
        if (const Node* v = typed(s, key, Node::Type::String, "a string", errors)) into = v->string;
    };
    auto num = [&](const char* key, int64_t& into, int64_t min) {
        if (const Node* v = typed(s, key, Node::Type::Int, "an integer", errors)) {
            if (v->integer < min)
                errors.push_back({v->origin, std::string("'") + key + "' must be at least " + std::to_string(min)});
            into = v->integer;
        }
    };
    auto lines = [&](const char* key, std::vector<std::string>& into) {
        if (const Node* v = typed(s, key, Node::Type::Array, "an array of strings", errors))
            for (const auto& item : v->items) {
                if (item.type != Node::Type::String || item.string.find('\n') != std::string::npos)
                    errors.push_back({item.origin, std::string("'") + key + "' entries must be one-line strings"});
                else
                    into.push_back(item.string);
            }
    };
    str("partition", out.partition);
    str("account", out.account);
    str("time", out.time);
    str("mem", out.mem);
    if (s.find("gres")) {
        std::string gres;
        str("gres", gres);
        out.gres = gres;
    }
    num("cpus_per_task", out.cpus_per_task, 1);
    num("max_parallel", out.max_parallel, 0);
    num("stop_signal_seconds", out.stop_signal_seconds, 0);
    lines("setup", out.setup);
    lines("sbatch", out.sbatch);
}

}  // namespace

std::vector<std::string> Axis::keys() const {
    std::set<std::string> out;
    auto dotted = [](const std::vector<std::string>& k) {
        std::string s;
        for (const auto& part : k) s += (s.empty() ? "" : ".") + part;
        return s;
    };
    for (const auto& v : variants) {
        for (const auto& [k, _] : v.sets) out.insert(dotted(k));
        for (const auto& [k, _] : v.unsets) out.insert(dotted(k));
    }
    return {out.begin(), out.end()};
}

std::optional<SweepSpec> parse_sweep(const Node& root, const std::string& default_name) {
    const Node* sweep = root.find("sweep");
    if (!sweep) return std::nullopt;
    std::vector<Diagnostic> errors;
    SweepSpec spec;
    spec.origin = sweep->origin;
    spec.name = default_name;
    if (!sweep->is_table()) throw recipe::RecipeErrors({{sweep->origin, "'sweep' must be a table"}});
    check_keys(*sweep, {"name", "run_name", "layout", "axis", "grid", "slurm"}, "[sweep]", errors);
    if (const Node* n = typed(*sweep, "name", Node::Type::String, "a string", errors)) {
        spec.name = n->string;
        if (!good_label(spec.name))
            errors.push_back(
                {n->origin, "sweep name '" + spec.name + "' names a folder: use letters, digits, '.', '_' or '-'"});
    }
    if (const Node* t = typed(*sweep, "run_name", Node::Type::String, "a string", errors))
        spec.run_name_template = t->string;
    if (const Node* l = typed(*sweep, "layout", Node::Type::String, "a string (a layout file)", errors)) {
        std::filesystem::path p = l->string;
        spec.layout = p.is_relative() ? l->origin.base_dir() / p : p;
        if (!std::filesystem::exists(spec.layout))
            errors.push_back({l->origin, "layout file not found: " + spec.layout.string()});
    }
    if (const Node* s = typed(*sweep, "slurm", Node::Type::Table, "a table", errors))
        parse_slurm(*s, spec.slurm, errors);

    const bool has_axes = sweep->find("axis") != nullptr;
    const Node* grids = typed(*sweep, "grid", Node::Type::Array, "an array of tables ([[sweep.grid]])", errors);
    if (has_axes && grids)
        errors.push_back({sweep->origin, "[sweep] has [[sweep.axis]] and [[sweep.grid]]: put every axis in a grid"});
    if (grids) {
        for (const auto& g : grids->items) {
            if (!g.is_table()) {
                errors.push_back({g.origin, "each [[sweep.grid]] must be a table"});
                continue;
            }
            check_keys(g, {"axis", "set", "unset"}, "[[sweep.grid]]", errors);
            Grid grid{g.origin, parse_axes(g, "[[sweep.grid.axis]]", errors), {}};
            if (g.find("set") || g.find("unset")) {
                Node edits = Node::table(g.origin);
                for (const char* key : {"set", "unset"})
                    if (const Entry* e = g.entry(key)) edits.set(key, e->value, e->key_origin);
                Node label;
                label.type = Node::Type::String;
                label.string = "grid";
                label.origin = g.origin;
                edits.set("label", label, g.origin);
                grid.common = parse_variant(edits, errors);
            }
            if (grid.axes.empty())
                errors.push_back({g.origin, "a [[sweep.grid]] needs at least one [[sweep.grid.axis]]"});
            spec.grids.push_back(std::move(grid));
        }
    } else if (has_axes) {
        spec.grids.push_back(Grid{sweep->origin, parse_axes(*sweep, "[[sweep.axis]]", errors), {}});
        if (spec.grids.back().axes.empty())
            errors.push_back({sweep->origin, "[sweep] declares no axis: add [[sweep.axis]] tables"});
    } else {
        errors.push_back({sweep->origin, "[sweep] declares no axis: add [[sweep.axis]] tables"});
    }
    if (!errors.empty()) throw recipe::RecipeErrors(errors);
    return spec;
}

std::string fill_labels(const std::string& text, const std::vector<std::pair<std::string, std::string>>& labels) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '{') {
            out += text[i];
            continue;
        }
        const auto close = text.find('}', i);
        if (close == std::string::npos) throw std::invalid_argument("unclosed '{' in \"" + text + "\"");
        const std::string name = text.substr(i + 1, close - i - 1);
        auto it = std::find_if(labels.begin(), labels.end(), [&](const auto& l) { return l.first == name; });
        if (it == labels.end()) {
            std::vector<std::string> names;
            for (const auto& l : labels) names.push_back(l.first);
            throw std::invalid_argument("\"" + text + "\" names the axis '{" + name +
                                        "}', which this run does not have" + util::did_you_mean(name, names));
        }
        out += it->second;
        i = close;
    }
    return out;
}

}  // namespace cap::sweep
