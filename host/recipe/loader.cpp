#include "recipe/loader.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace cap::recipe {

namespace {

Origin origin_of(const toml::source_region& region, const std::string& file) {
    return Origin{file, static_cast<int>(region.begin.line), static_cast<int>(region.begin.column), ""};
}

Node convert(const toml::node& n, const std::string& file, std::vector<Diagnostic>& errors) {
    Node out;
    out.origin = origin_of(n.source(), file);
    switch (n.type()) {
        case toml::node_type::boolean:
            out.type = Node::Type::Bool;
            out.boolean = n.as_boolean()->get();
            break;
        case toml::node_type::integer:
            out.type = Node::Type::Int;
            out.integer = n.as_integer()->get();
            break;
        case toml::node_type::floating_point:
            out.type = Node::Type::Float;
            out.floating = n.as_floating_point()->get();
            break;
        case toml::node_type::string:
            out.type = Node::Type::String;
            out.string = n.as_string()->get();
            break;
        case toml::node_type::array:
            out.type = Node::Type::Array;
            for (const auto& item : *n.as_array()) out.items.push_back(convert(item, file, errors));
            break;
        case toml::node_type::table:
            out.type = Node::Type::Table;
            for (const auto& [key, value] : *n.as_table())
                out.entries.push_back(
                    Entry{std::string(key.str()), origin_of(key.source(), file), convert(value, file, errors)});
            break;
        default:
            errors.push_back({out.origin, "dates and times are not recipe values"});
            out.type = Node::Type::String;
            break;
    }
    return out;
}

Node parse(const std::string& text, const std::string& file) {
    std::vector<Diagnostic> errors;
    try {
        toml::table table = toml::parse(text, file);
        Node root = convert(table, file, errors);
        root.origin = Origin{file, 1, 1, ""};
        if (!errors.empty()) throw RecipeErrors(errors);
        return root;
    } catch (const toml::parse_error& e) {
        throw RecipeErrors({{origin_of(e.source(), file), "invalid TOML: " + std::string(e.description())}});
    }
}

// Strings from a key that may be one string or an array of strings.
std::vector<std::pair<std::string, Origin>> string_list(const Node& node, const char* key,
                                                        std::vector<Diagnostic>& errors) {
    std::vector<std::pair<std::string, Origin>> out;
    if (node.type == Node::Type::String) {
        out.emplace_back(node.string, node.origin);
    } else if (node.type == Node::Type::Array) {
        for (const auto& item : node.items) {
            if (item.type == Node::Type::String)
                out.emplace_back(item.string, item.origin);
            else
                errors.push_back(
                    {item.origin, std::string("'") + key + "' entries must be strings, not " + item.type_name()});
        }
    } else {
        errors.push_back({node.origin, std::string("'") + key + "' must be a string or an array of strings, not " +
                                           node.type_name()});
    }
    return out;
}

bool erase_path(Node& root, const std::vector<std::string>& keys) {
    Node* table = &root;
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
        table = table->find(keys[i]);
        if (!table || !table->is_table()) return false;
    }
    return table->erase(keys.back());
}

Node load_file(const fs::path& path, std::vector<fs::path>& stack, std::vector<fs::path>& sources,
               const Origin& included_from) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw RecipeErrors({{included_from, "recipe not found: " + path.string()}});
    if (!fs::is_regular_file(path, ec))
        throw RecipeErrors({{included_from, "not a recipe file (a folder?): " + path.string()}});
    fs::path canonical = fs::weakly_canonical(path, ec);
    if (ec) canonical = fs::absolute(path, ec);
    if (std::find(stack.begin(), stack.end(), canonical) != stack.end())
        throw RecipeErrors({{included_from, "include cycle: " + path.string() + " includes itself"}});
    std::ifstream in(path);
    std::stringstream text;
    if (!(text << in.rdbuf()) && in.peek() != std::char_traits<char>::eof())
        throw RecipeErrors({{included_from, "cannot read recipe " + path.string()}});
    const std::string file = path.lexically_normal().string();
    Node own = parse(text.str(), file);

    std::vector<Diagnostic> errors;
    std::vector<std::pair<std::string, Origin>> includes, unsets;
    if (const Node* inc = own.find("include")) includes = string_list(*inc, "include", errors);
    if (const Node* un = own.find("unset")) unsets = string_list(*un, "unset", errors);
    own.erase("include");
    own.erase("unset");
    if (!errors.empty()) throw RecipeErrors(errors);

    stack.push_back(canonical);
    Node merged = Node::table(own.origin);
    for (const auto& [inc, origin] : includes) {
        fs::path target = path.parent_path() / inc;
        merge_into(merged, load_file(target, stack, sources, origin));
    }
    stack.pop_back();
    for (const auto& [key, origin] : unsets) {
        try {
            if (!erase_path(merged, split_key_path(key)))
                errors.push_back({origin, "unset '" + key + "': no such key in the included recipes"});
        } catch (const std::invalid_argument& e) {
            errors.push_back({origin, std::string("unset: ") + e.what()});
        }
    }
    if (!errors.empty()) throw RecipeErrors(errors);
    merge_into(merged, std::move(own));
    merged.origin = Origin{file, 1, 1, ""};
    sources.push_back(path);
    return merged;
}

}  // namespace

LoadedRecipe load_recipe(const fs::path& file) {
    LoadedRecipe out;
    out.file = file;
    std::vector<fs::path> stack;
    out.root = load_file(file, stack, out.sources, Origin{file.string(), 0, 0, ""});
    return out;
}

Node parse_toml_text(const std::string& text, const std::string& file) { return parse(text, file); }

}  // namespace cap::recipe
