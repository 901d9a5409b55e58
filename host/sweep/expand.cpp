#include "sweep/expand.hpp"

#include <algorithm>
#include <set>

namespace cap::sweep {

using recipe::Diagnostic;
using recipe::Node;
using recipe::Origin;
using recipe::RecipeErrors;

namespace {

std::string dotted(const std::vector<std::string>& keys) {
    std::string s;
    for (const auto& k : keys) s += (s.empty() ? "" : ".") + k;
    return s;
}

// "a.b" and "a.b.c" overlap (one edits inside the other); "a.b" and "a.bc" do not.
bool overlaps(const std::string& a, const std::string& b) {
    const auto& shorter = a.size() <= b.size() ? a : b;
    const auto& longer = a.size() <= b.size() ? b : a;
    return longer.compare(0, shorter.size(), shorter) == 0 &&
           (longer.size() == shorter.size() || longer[shorter.size()] == '.');
}

void stamp_origin(Node& n, const Origin& origin) {
    // A value keeps where it was written; tables it creates are attributed to the variant.
    if (n.origin.file.empty() && !n.origin.from_command_line()) n.origin = origin;
}

void set_path(Node& root, const std::vector<std::string>& keys, Node value, const Origin& origin) {
    Node* table = &root;
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
        Node* next = table->find(keys[i]);
        if (!next) next = &table->set(keys[i], Node::table(origin), origin);
        if (!next->is_table())
            throw std::invalid_argument("'" + dotted({keys.begin(), keys.begin() + long(i) + 1}) + "' is a " +
                                        next->type_name() + " (" + next->origin.str() + "), not a table");
        table = next;
    }
    stamp_origin(value, origin);
    if (value.is_table() && value.entries.empty()) {
        if (Node* existing = table->find(keys.back()); existing && existing->is_table()) return;
    }
    table->set(keys.back(), std::move(value), origin);
}

void unset_path(Node& root, const std::vector<std::string>& keys) {
    Node* table = &root;
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
        table = table->find(keys[i]);
        if (!table || !table->is_table()) return;  // nothing there: already unset
    }
    table->erase(keys.back());
}

// Every combination of one variant per axis, first axis slowest.
std::vector<std::vector<const Variant*>> product(const Grid& grid) {
    std::vector<std::vector<const Variant*>> out{{}};
    for (const auto& axis : grid.axes) {
        std::vector<std::vector<const Variant*>> next;
        for (const auto& prefix : out)
            for (const auto& v : axis.variants) {
                auto combo = prefix;
                combo.push_back(&v);
                next.push_back(std::move(combo));
            }
        out = std::move(next);
    }
    return out;
}

void check_override_conflicts(const SweepSpec& spec, const recipe::Overrides& overrides,
                              std::vector<Diagnostic>& errors) {
    auto check = [&](const std::string& key, const std::string& argument) {
        for (const auto& grid : spec.grids)
            for (const auto& axis : grid.axes)
                for (const auto& axis_key : axis.keys())
                    if (overlaps(key, axis_key)) {
                        errors.push_back({Origin::command_line(argument),
                                          "'" + key + "' is varied by the sweep's axis '" + axis.name + "' (" +
                                              axis.origin.str() + ", which edits '" + axis_key +
                                              "'): overriding it would give every run the same value; change "
                                              "the axis instead"});
                        return;
                    }
    };
    for (const auto& s : overrides.sets) check(s.substr(0, s.find('=')), "--set " + s);
    for (const auto& u : overrides.unsets) check(u, "--unset " + u);
}

void check_axis_overlaps(const Grid& grid, std::vector<Diagnostic>& errors) {
    for (size_t i = 0; i < grid.axes.size(); ++i)
        for (size_t j = i + 1; j < grid.axes.size(); ++j)
            for (const auto& a : grid.axes[i].keys())
                for (const auto& b : grid.axes[j].keys())
                    if (overlaps(a, b))
                        errors.push_back({grid.axes[j].origin, "axes '" + grid.axes[i].name + "' and '" +
                                                                   grid.axes[j].name + "' both edit '" +
                                                                   (a.size() <= b.size() ? a : b) +
                                                                   "': which one wins would depend on their order"});
}

}  // namespace

bool declares_sweep(const Node& root) { return root.find("sweep") != nullptr; }

Expansion expand_sweep(const std::filesystem::path& file, const recipe::Overrides& overrides) {
    recipe::LoadedRecipe loaded = recipe::load_recipe(file);
    auto spec = parse_sweep(loaded.root, file.stem().string());
    if (!spec)
        throw RecipeErrors({{Origin{file.string(), 1, 1, ""},
                             "this recipe declares no [sweep]: run it with `cap run`, or add [[sweep.axis]] tables"}});
    Expansion out{std::move(*spec), {}};
    Node base = loaded.root;
    base.erase("sweep");

    std::vector<Diagnostic> errors;
    check_override_conflicts(out.spec, overrides, errors);
    for (const auto& grid : out.spec.grids) check_axis_overlaps(grid, errors);
    if (!errors.empty()) throw RecipeErrors(errors);

    std::set<std::string> names;
    for (const auto& grid : out.spec.grids) {
        for (const auto& combo : product(grid)) {
            Cell cell;
            cell.index = out.cells.size();
            const Variant* starter = nullptr;
            for (size_t a = 0; a < combo.size(); ++a) {
                cell.labels.emplace_back(grid.axes[a].name, combo[a]->label);
                if (!combo[a]->recipe.empty()) {
                    if (starter)
                        errors.push_back({combo[a]->recipe_origin, "this run would start from two recipes (also " +
                                                                       starter->recipe_origin.str() + ")"});
                    starter = combo[a];
                }
            }
            try {
                if (out.spec.run_name_template.empty()) {
                    for (const auto& [_, label] : cell.labels) cell.name += (cell.name.empty() ? "" : "-") + label;
                } else {
                    cell.name = fill_labels(out.spec.run_name_template, cell.labels);
                }
            } catch (const std::invalid_argument& e) {
                errors.push_back({out.spec.origin, std::string("run_name: ") + e.what()});
                continue;
            }
            if (!good_label(cell.name)) {
                errors.push_back({out.spec.origin, "run name '" + cell.name +
                                                       "' (from run_name) names a folder: use "
                                                       "letters, digits, '.', '_' or '-'"});
                continue;
            }
            if (!names.insert(cell.name).second) {
                errors.push_back({out.spec.origin, "two runs are named '" + cell.name +
                                                       "': give run_name every axis that tells them apart"});
                continue;
            }
            try {
                Node tree;
                std::vector<std::filesystem::path> sources;
                if (starter) {
                    std::filesystem::path p = fill_labels(starter->recipe, cell.labels);
                    if (p.is_relative()) p = starter->recipe_origin.base_dir() / p;
                    cell.start_recipe = p.lexically_normal().string();
                    auto start = recipe::load_recipe(p);
                    if (declares_sweep(start.root))
                        throw RecipeErrors(
                            {{starter->recipe_origin,
                              p.string() + " declares a sweep itself; a run starts from a plain recipe"}});
                    tree = std::move(start.root);
                    sources = std::move(start.sources);
                    merge_into(tree, base);
                } else {
                    tree = base;
                }
                sources.insert(sources.end(), loaded.sources.begin(), loaded.sources.end());
                for (const auto& [keys, origin] : grid.common.unsets) unset_path(tree, keys);
                for (const auto& [keys, value] : grid.common.sets) set_path(tree, keys, value, grid.common.origin);
                for (const Variant* v : combo)
                    for (const auto& [keys, origin] : v->unsets) unset_path(tree, keys);
                for (const Variant* v : combo)
                    for (const auto& [keys, value] : v->sets) set_path(tree, keys, value, v->origin);
                const bool axis_names_run = std::any_of(combo.begin(), combo.end(), [](const Variant* v) {
                    return std::any_of(v->sets.begin(), v->sets.end(),
                                       [](const auto& s) { return dotted(s.first) == "run.name"; });
                });
                if (!axis_names_run) {  // the run is named after its cell, whatever its recipe called it
                    Node name;
                    name.type = Node::Type::String;
                    name.string = cell.name;
                    name.origin = out.spec.origin;
                    set_path(tree, {"run", "name"}, name, out.spec.origin);
                }
                recipe::apply_overrides(tree, overrides);
                cell.recipe = recipe::LoadedRecipe{file, std::move(tree), std::move(sources)};
            } catch (const RecipeErrors& e) {
                for (auto d : e.diagnostics()) {
                    d.message = "run '" + cell.name + "': " + d.message;
                    errors.push_back(d);
                }
                continue;
            } catch (const std::invalid_argument& e) {
                errors.push_back({out.spec.origin, "run '" + cell.name + "': " + e.what()});
                continue;
            }
            out.cells.push_back(std::move(cell));
        }
    }
    if (!errors.empty()) throw RecipeErrors(errors);
    return out;
}

}  // namespace cap::sweep
