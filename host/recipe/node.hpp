// A recipe as a tree of values that remember where they were written: file, line and column
// (through includes), or the command-line override that set them. Every error about a recipe
// points at one of these origins.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cap::recipe {

struct Origin {
    std::string file;  // recipe file as the user named it (or as an include resolved it)
    int line = 0;
    int column = 0;
    std::string argument;  // for command-line overrides: the argument, e.g. "--set run.seed=3"

    static Origin command_line(std::string argument) { return {"", 0, 0, std::move(argument)}; }
    bool from_command_line() const { return !argument.empty(); }
    std::string str() const;                 // "a.toml:3:5" or "command line (--set run.seed=3)"
    std::filesystem::path base_dir() const;  // relative paths resolve here (cwd for the CLI)
};

struct Diagnostic {
    Origin origin;
    std::string message;
    std::string str() const { return origin.str() + ": error: " + message; }
};

// Every problem found in a recipe, each with its origin.
class RecipeErrors : public std::runtime_error {
public:
    explicit RecipeErrors(std::vector<Diagnostic> diagnostics);
    const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

private:
    std::vector<Diagnostic> diagnostics_;
};

struct Entry;

struct Node {
    enum class Type { Bool, Int, Float, String, Array, Table };

    Type type = Type::Table;
    Origin origin;
    bool boolean = false;
    int64_t integer = 0;
    double floating = 0;
    std::string string;
    std::vector<Node> items;     // Array
    std::vector<Entry> entries;  // Table, in the order written

    static Node table(Origin origin = {});
    const char* type_name() const;  // "integer", "table", ...
    bool is_table() const { return type == Type::Table; }
    bool is_number() const { return type == Type::Int || type == Type::Float; }

    Node* find(const std::string& key);
    const Node* find(const std::string& key) const;
    const Entry* entry(const std::string& key) const;
    Node& set(const std::string& key, Node value, Origin key_origin);  // replaces or appends
    bool erase(const std::string& key);
    std::vector<std::string> keys() const;

    nlohmann::ordered_json to_json() const;
};

struct Entry {
    std::string key;
    Origin key_origin;
    Node value;
};

// Deep merge: tables merge key by key, anything else in `over` replaces what `base` had.
void merge_into(Node& base, Node over);

// Splits "a.b.c" into its keys; throws std::invalid_argument on empty or non-bare keys.
std::vector<std::string> split_key_path(const std::string& path);

}  // namespace cap::recipe
