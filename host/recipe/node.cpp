#include "recipe/node.hpp"

#include <algorithm>

namespace cap::recipe {

std::string Origin::str() const {
    if (from_command_line()) return "command line (" + argument + ")";
    std::string out = file.empty() ? "<recipe>" : file;
    if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    return out;
}

std::filesystem::path Origin::base_dir() const {
    if (from_command_line() || file.empty()) return std::filesystem::current_path();
    return std::filesystem::absolute(std::filesystem::path(file)).parent_path();
}

RecipeErrors::RecipeErrors(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(diagnostics.empty() ? "recipe error" : diagnostics.front().str()),
      diagnostics_(std::move(diagnostics)) {}

Node Node::table(Origin origin) {
    Node n;
    n.type = Type::Table;
    n.origin = std::move(origin);
    return n;
}

const char* Node::type_name() const {
    switch (type) {
        case Type::Bool: return "boolean";
        case Type::Int: return "integer";
        case Type::Float: return "float";
        case Type::String: return "string";
        case Type::Array: return "array";
        case Type::Table: return "table";
    }
    return "value";
}

Node* Node::find(const std::string& key) {
    for (auto& e : entries)
        if (e.key == key) return &e.value;
    return nullptr;
}

const Node* Node::find(const std::string& key) const {
    for (const auto& e : entries)
        if (e.key == key) return &e.value;
    return nullptr;
}

const Entry* Node::entry(const std::string& key) const {
    for (const auto& e : entries)
        if (e.key == key) return &e;
    return nullptr;
}

Node& Node::set(const std::string& key, Node value, Origin key_origin) {
    for (auto& e : entries)
        if (e.key == key) {
            e.value = std::move(value);
            e.key_origin = std::move(key_origin);
            return e.value;
        }
    entries.push_back(Entry{key, std::move(key_origin), std::move(value)});
    return entries.back().value;
}

bool Node::erase(const std::string& key) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.key == key; });
    if (it == entries.end()) return false;
    entries.erase(it);
    return true;
}

std::vector<std::string> Node::keys() const {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.key);
    return out;
}

nlohmann::ordered_json Node::to_json() const {
    switch (type) {
        case Type::Bool: return boolean;
        case Type::Int: return integer;
        case Type::Float: return floating;
        case Type::String: return string;
        case Type::Array: {
            auto a = nlohmann::ordered_json::array();
            for (const auto& i : items) a.push_back(i.to_json());
            return a;
        }
        case Type::Table: {
            auto o = nlohmann::ordered_json::object();
            for (const auto& e : entries) o[e.key] = e.value.to_json();
            return o;
        }
    }
    return nullptr;
}

void merge_into(Node& base, Node over) {
    if (!base.is_table() || !over.is_table()) {
        base = std::move(over);
        return;
    }
    for (auto& e : over.entries) {
        Node* existing = base.find(e.key);
        if (existing && existing->is_table() && e.value.is_table())
            merge_into(*existing, std::move(e.value));
        else
            base.set(e.key, std::move(e.value), e.key_origin);
    }
}

std::vector<std::string> split_key_path(const std::string& path) {
    std::vector<std::string> keys;
    std::string current;
    auto flush = [&] {
        if (current.empty()) throw std::invalid_argument("empty key in '" + path + "'");
        keys.push_back(current);
        current.clear();
    };
    for (char c : path) {
        if (c == '.') {
            flush();
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
            current += c;
        } else {
            throw std::invalid_argument(std::string("character '") + c + "' is not allowed in key '" + path +
                                        "' (keys are letters, digits, '_' and '-')");
        }
    }
    flush();
    return keys;
}

}  // namespace cap::recipe
