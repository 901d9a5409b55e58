#include "report/layout.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "recipe/loader.hpp"

namespace cap::report {

using recipe::Diagnostic;
using recipe::Node;

namespace {

void check_keys(const Node& table, const std::vector<std::string>& allowed, const std::string& where,
                std::vector<Diagnostic>& errors) {
    for (const auto& e : table.entries)
        if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end())
            errors.push_back({e.key_origin, "unknown key '" + e.key + "' in " + where});
}

std::string text(const Node& t, const char* key, bool required, std::vector<Diagnostic>& errors) {
    const Node* v = t.find(key);
    if (!v) {
        if (required) errors.push_back({t.origin, std::string("missing '") + key + "'"});
        return "";
    }
    if (v->type != Node::Type::String) {
        errors.push_back({v->origin, std::string("'") + key + "' must be a string, not " + v->type_name()});
        return "";
    }
    return v->string;
}

std::vector<double> numbers(const Node& t, const char* key, std::vector<Diagnostic>& errors) {
    std::vector<double> out;
    const Node* v = t.find(key);
    if (!v) return out;
    if (v->type != Node::Type::Array) {
        errors.push_back({v->origin, std::string("'") + key + "' must be an array of numbers"});
        return out;
    }
    for (const auto& item : v->items) {
        if (!item.is_number())
            errors.push_back({item.origin, std::string("'") + key + "' entries must be numbers"});
        else
            out.push_back(item.type == Node::Type::Int ? double(item.integer) : item.floating);
    }
    return out;
}

const std::vector<Node>* tables(const Node& root, const char* key, std::vector<Diagnostic>& errors) {
    const Node* v = root.find(key);
    if (!v) return nullptr;
    if (v->type != Node::Type::Array) {
        errors.push_back({v->origin, std::string("'") + key + "' must be an array of tables ([[" + key + "]])"});
        return nullptr;
    }
    for (const auto& item : v->items)
        if (!item.is_table()) errors.push_back({item.origin, std::string("each [[") + key + "]] must be a table"});
    return &v->items;
}

std::string task_header(const std::string& task, const std::string& metric) {
    static const std::vector<std::pair<std::string, std::string>> names = {
        {"sst2", "SST-2"}, {"mnli", "MNLI"}, {"qqp", "QQP"},   {"squad", "SQuAD"},        {"qnli", "QNLI"},
        {"rte", "RTE"},    {"mrpc", "MRPC"}, {"wnli", "WNLI"}, {"synthetic", "synthetic"}};
    std::string t = task;
    for (const auto& [k, v] : names)
        if (k == task) t = v;
    return t + " " + metric;
}

}  // namespace

bool matches_level(double remaining, double level) {
    if (remaining <= 0 || level <= 0) return false;
    return std::fabs(std::log(remaining / level)) <= std::log(1.35);
}

std::optional<double> nearest_level(double remaining, const std::vector<double>& levels) {
    std::optional<double> best;
    for (double level : levels)
        if (matches_level(remaining, level) &&
            (!best || std::fabs(std::log(remaining / level)) < std::fabs(std::log(remaining / *best))))
            best = level;
    return best;
}

Layout load_layout(const std::filesystem::path& file) {
    auto loaded = recipe::load_recipe(file);
    const Node& root = loaded.root;
    std::vector<Diagnostic> errors;
    Layout l;
    l.file = file;
    check_keys(root, {"title", "note", "levels", "published_columns", "column", "row", "published", "pair"},
               "a layout file", errors);
    l.title = text(root, "title", false, errors);
    l.note = text(root, "note", false, errors);
    l.levels = numbers(root, "levels", errors);
    if (l.levels.empty())
        errors.push_back({root.origin, "a layout needs 'levels' (remaining weights in %, one block each)"});
    for (double v : l.levels)
        if (v <= 0 || v > 100)
            errors.push_back({root.find("levels")->origin, "levels are remaining weights in %: (0, 100]"});

    std::set<std::string> tasks, methods;
    if (auto* cols = tables(root, "column", errors))
        for (const auto& c : *cols) {
            if (!c.is_table()) continue;
            check_keys(c, {"task", "metrics", "header"}, "[[column]]", errors);
            Column col;
            col.task = text(c, "task", true, errors);
            col.header = text(c, "header", false, errors);
            if (const Node* m = c.find("metrics"); m && m->type == Node::Type::Array)
                for (const auto& item : m->items) {
                    if (item.type == Node::Type::String)
                        col.metrics.push_back(item.string);
                    else
                        errors.push_back({item.origin, "metrics are names (strings), e.g. \"accuracy\""});
                }
            if (col.metrics.empty())
                errors.push_back({c.origin, "a column needs 'metrics' (e.g. [\"accuracy\", \"f1\"])"});
            if (col.header.empty() && !col.metrics.empty()) {
                std::string m;
                for (const auto& x : col.metrics) m += (m.empty() ? "" : "/") + x;
                col.header = task_header(col.task, m);
            }
            if (!tasks.insert(col.task).second) errors.push_back({c.origin, "two columns for task '" + col.task + "'"});
            l.columns.push_back(std::move(col));
        }
    if (l.columns.empty()) errors.push_back({root.origin, "a layout needs at least one [[column]]"});
    if (auto* rows = tables(root, "row", errors))
        for (const auto& r : *rows) {
            if (!r.is_table()) continue;
            check_keys(r, {"method", "from"}, "[[row]]", errors);
            Row row;
            row.method = text(r, "method", true, errors);
            const std::string from = text(r, "from", false, errors);
            if (!from.empty() && from != "teacher")
                errors.push_back({r.find("from")->origin, "from = \"" + from + "\": the only source is \"teacher\""});
            row.from_teacher = from == "teacher";
            if (!methods.insert(row.method).second)
                errors.push_back({r.origin, "two rows for method '" + row.method + "'"});
            l.rows.push_back(std::move(row));
        }
    if (l.rows.empty()) errors.push_back({root.origin, "a layout needs at least one [[row]]"});
    if (auto* pubs = tables(root, "published", errors))
        for (const auto& p : *pubs) {
            if (!p.is_table()) continue;
            check_keys(p, {"method", "task", "level", "values", "source"}, "[[published]]", errors);
            Published pub;
            pub.method = text(p, "method", true, errors);
            pub.task = text(p, "task", true, errors);
            pub.source = text(p, "source", true, errors);
            pub.values = numbers(p, "values", errors);
            if (const Node* lv = p.find("level")) {
                if (!lv->is_number())
                    errors.push_back({lv->origin, "'level' must be a number (remaining weights in %)"});
                else
                    pub.level = lv->type == Node::Type::Int ? double(lv->integer) : lv->floating;
                if (pub.level && std::find(l.levels.begin(), l.levels.end(), *pub.level) == l.levels.end())
                    errors.push_back({lv->origin, "level " + std::to_string(*pub.level) + " is not one of 'levels'"});
            }
            if (!pub.method.empty() && !methods.count(pub.method))
                errors.push_back({p.origin, "no [[row]] has method '" + pub.method + "'"});
            auto col =
                std::find_if(l.columns.begin(), l.columns.end(), [&](const Column& c) { return c.task == pub.task; });
            if (!pub.task.empty() && col == l.columns.end())
                errors.push_back({p.origin, "no [[column]] has task '" + pub.task + "'"});
            else if (col != l.columns.end() && pub.values.size() != col->metrics.size())
                errors.push_back({p.origin, "'values' has " + std::to_string(pub.values.size()) + " numbers; column '" +
                                                pub.task + "' has " + std::to_string(col->metrics.size()) +
                                                " metrics"});
            l.published.push_back(std::move(pub));
        }
    if (auto* pairs = tables(root, "pair", errors))
        for (const auto& p : *pairs) {
            if (!p.is_table()) continue;
            check_keys(p, {"method", "baseline"}, "[[pair]]", errors);
            PairSpec pair{text(p, "method", true, errors), text(p, "baseline", true, errors)};
            for (const char* key : {"method", "baseline"}) {
                const std::string& m = std::string(key) == "method" ? pair.method : pair.baseline;
                if (!m.empty() && !methods.count(m))
                    errors.push_back({p.find(key)->origin, std::string("[[pair]] ") + key + " '" + m +
                                                               "' is not the method of any [[row]]"});
            }
            if (!pair.method.empty() && pair.method == pair.baseline)
                errors.push_back({p.origin, "[[pair]] compares '" + pair.method + "' with itself"});
            l.pairs.push_back(std::move(pair));
        }
    l.published_columns = !l.published.empty();
    if (const Node* pc = root.find("published_columns")) {
        if (pc->type != Node::Type::Bool)
            errors.push_back({pc->origin, "'published_columns' must be true or false"});
        else
            l.published_columns = pc->boolean;
    }
    if (!errors.empty()) throw recipe::RecipeErrors(errors);
    return l;
}

Layout derived_layout(const std::vector<RunResult>& runs) {
    Layout l;
    l.title = "Results";
    for (const auto& r : runs) {
        if (!r.finished) continue;
        if (std::none_of(l.rows.begin(), l.rows.end(), [&](const Row& x) { return x.method == r.method; }))
            l.rows.push_back({r.method, false});
        if (std::none_of(l.columns.begin(), l.columns.end(), [&](const Column& c) { return c.task == r.task; }))
            l.columns.push_back({r.task, {r.main_metric}, task_header(r.task, r.main_metric)});
        for (const auto& lv : r.levels) {
            // Unstructured runs land on their measured figure, rounded to a whole percent.
            const double level = r.structured ? std::round(lv.remaining * 100) / 100 : std::round(lv.remaining);
            if (std::none_of(l.levels.begin(), l.levels.end(), [&](double x) { return std::fabs(x - level) < 1e-9; }))
                l.levels.push_back(level);
        }
    }
    std::sort(l.levels.begin(), l.levels.end(), std::greater<>());
    return l;
}

}  // namespace cap::report
