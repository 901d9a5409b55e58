#include "plugin/kind.hpp"

#include <cstddef>
#include <map>

namespace cap::host {

std::string kind_name(cap_plugin_kind kind) {
    switch (kind) {
        case CAP_KIND_BACKEND: return "backend";
        case CAP_KIND_CRITERION: return "criterion";
        case CAP_KIND_SCHEDULE: return "schedule";
        case CAP_KIND_CONTRASTIVE: return "contrastive";
        case CAP_KIND_DISTILL: return "distill";
    }
    return "unknown(" + std::to_string(static_cast<int>(kind)) + ")";
}

const std::vector<cap_plugin_kind>& all_kinds() {
    static const std::vector<cap_plugin_kind> kinds = {CAP_KIND_BACKEND, CAP_KIND_CRITERION, CAP_KIND_SCHEDULE,
                                                       CAP_KIND_CONTRASTIVE, CAP_KIND_DISTILL};
    return kinds;
}

#define CAP_ENTRY(type, field) \
    TableEntry { #field, offsetof(type, field) }

const std::vector<TableEntry>& required_entries(cap_plugin_kind kind) {
    static const std::map<cap_plugin_kind, std::vector<TableEntry>> entries = {
        {CAP_KIND_BACKEND,
         {CAP_ENTRY(cap_backend_api, probe), CAP_ENTRY(cap_backend_api, context), CAP_ENTRY(cap_backend_api, precision),
          CAP_ENTRY(cap_backend_api, synchronize), CAP_ENTRY(cap_backend_api, memory),
          CAP_ENTRY(cap_backend_api, describe)}},
        // The rest depends on the style info() declares; CriterionPlugin checks it.
        {CAP_KIND_CRITERION, {CAP_ENTRY(cap_criterion_api, info)}},
        {CAP_KIND_SCHEDULE,
         {CAP_ENTRY(cap_schedule_api, bind), CAP_ENTRY(cap_schedule_api, num_stages),
          CAP_ENTRY(cap_schedule_api, stage), CAP_ENTRY(cap_schedule_api, at)}},
        {CAP_KIND_CONTRASTIVE,
         {CAP_ENTRY(cap_contrastive_api, wants), CAP_ENTRY(cap_contrastive_api, receive_bank),
          CAP_ENTRY(cap_contrastive_api, loss), CAP_ENTRY(cap_contrastive_api, memory)}},
        {CAP_KIND_DISTILL, {CAP_ENTRY(cap_distill_api, loss)}},
    };
    static const std::vector<TableEntry> none;
    auto it = entries.find(kind);
    return it == entries.end() ? none : it->second;
}

#undef CAP_ENTRY

}  // namespace cap::host
