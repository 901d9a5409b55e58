// Plugin kinds by name, and where each kind's table declares its required entries.
#pragma once

#include <string>
#include <vector>

#include "cap/cap.h"

namespace cap::host {

std::string kind_name(cap_plugin_kind kind);  // "criterion"
const std::vector<cap_plugin_kind>& all_kinds();

// A function-table entry the host checks at load: its name and byte offset in the table.
struct TableEntry {
    const char* name;
    size_t offset;
};

// Entries that must be non-NULL in the kind's table, as of the oldest ABI minor the host
// supports (entries appended later are optional for older plugins by construction).
const std::vector<TableEntry>& required_entries(cap_plugin_kind kind);

}  // namespace cap::host
