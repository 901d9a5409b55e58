#include "recipe/overrides.hpp"

#include "recipe/loader.hpp"
#include "util/suggest.hpp"

namespace cap::recipe {

namespace {

// The value of one --set: TOML if it parses, a bare word as a string, else an error.
Node parse_value(const std::string& text, const Origin& origin) {
    try {
        Node parsed = parse_toml_text("v = " + text, origin.argument);
        Node value = std::move(*parsed.find("v"));
        auto stamp = [&](Node& n, auto& self) -> void {
            n.origin = origin;
            for (auto& item : n.items) self(item, self);
            for (auto& e : n.entries) {
                e.key_origin = origin;
                self(e.value, self);
            }
        };
        stamp(value, stamp);
        return value;
    } catch (const RecipeErrors&) {
        const bool looks_structured = !text.empty() && std::string("[{\"'").find(text[0]) != std::string::npos;
        if (text.empty() || looks_structured || text.find_first_of("\n\r") != std::string::npos)
            throw std::invalid_argument("'" + text + "' is not a valid TOML value");
        Node value;
        value.type = Node::Type::String;
        value.string = text;
        value.origin = origin;
        return value;
    }
}

void unset_one(Node& root, const std::string& path, const Origin& origin) {
    const auto keys = split_key_path(path);
    Node* table = &root;
    std::string walked;
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
        Node* next = table->find(keys[i]);
        walked += (walked.empty() ? "" : ".") + keys[i];
        if (!next)
            throw std::invalid_argument("no key '" + walked + "' in the recipe" +
                                        util::did_you_mean(keys[i], table->keys()));
        if (!next->is_table())
            throw std::invalid_argument("'" + walked + "' is a " + next->type_name() + ", not a table");
        table = next;
    }
    if (!table->erase(keys.back()))
        throw std::invalid_argument("no key '" + path + "' in the recipe" +
                                    util::did_you_mean(keys.back(), table->keys()));
    (void)origin;
}

void set_one(Node& root, const std::string& assignment, const Origin& origin) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("expected KEY=VALUE");
    const std::string path = assignment.substr(0, eq);
    const auto keys = split_key_path(path);
    Node value = parse_value(assignment.substr(eq + 1), origin);
    Node* table = &root;
    std::string walked;
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
        walked += (walked.empty() ? "" : ".") + keys[i];
        Node* next = table->find(keys[i]);
        if (!next) next = &table->set(keys[i], Node::table(origin), origin);
        if (!next->is_table())
            throw std::invalid_argument("'" + walked + "' is a " + next->type_name() + " (" + next->origin.str() +
                                        "), not a table");
        table = next;
    }
    table->set(keys.back(), std::move(value), origin);
}

}  // namespace

void apply_overrides(Node& root, const Overrides& overrides, const std::string& set_flag) {
    std::vector<Diagnostic> errors;
    for (const auto& path : overrides.unsets) {
        Origin origin = Origin::command_line("--unset " + path);
        try {
            unset_one(root, path, origin);
        } catch (const std::invalid_argument& e) {
            errors.push_back({origin, e.what()});
        }
    }
    for (const auto& assignment : overrides.sets) {
        Origin origin = Origin::command_line(set_flag + " " + assignment);
        try {
            set_one(root, assignment, origin);
        } catch (const std::invalid_argument& e) {
            errors.push_back({origin, e.what()});
        }
    }
    if (!errors.empty()) throw RecipeErrors(errors);
}

}  // namespace cap::recipe
