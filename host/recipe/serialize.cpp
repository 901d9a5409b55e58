#include "recipe/serialize.hpp"

#include <toml++/toml.h>

#include <sstream>

namespace cap::recipe {

namespace {

void insert(toml::table& table, const std::string& key, const Node& node);

toml::array to_array(const Node& node) {
    toml::array out;
    for (const auto& item : node.items) {
        switch (item.type) {
            case Node::Type::Bool: out.push_back(item.boolean); break;
            case Node::Type::Int: out.push_back(item.integer); break;
            case Node::Type::Float: out.push_back(item.floating); break;
            case Node::Type::String: out.push_back(item.string); break;
            case Node::Type::Array: out.push_back(to_array(item)); break;
            case Node::Type::Table: {
                toml::table t;
                for (const auto& e : item.entries) insert(t, e.key, e.value);
                out.push_back(std::move(t));
                break;
            }
        }
    }
    return out;
}

void insert(toml::table& table, const std::string& key, const Node& node) {
    switch (node.type) {
        case Node::Type::Bool: table.insert_or_assign(key, node.boolean); break;
        case Node::Type::Int: table.insert_or_assign(key, node.integer); break;
        case Node::Type::Float: table.insert_or_assign(key, node.floating); break;
        case Node::Type::String: table.insert_or_assign(key, node.string); break;
        case Node::Type::Array: table.insert_or_assign(key, to_array(node)); break;
        case Node::Type::Table: {
            toml::table t;
            for (const auto& e : node.entries) insert(t, e.key, e.value);
            table.insert_or_assign(key, std::move(t));
            break;
        }
    }
}

}  // namespace

std::string to_toml(const Node& root) {
    toml::table table;
    for (const auto& e : root.entries) insert(table, e.key, e.value);
    std::ostringstream out;
    out << toml::toml_formatter(table) << "\n";
    return out.str();
}

}  // namespace cap::recipe
