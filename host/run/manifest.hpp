// manifest.json: everything needed to know what a run was and to run it again — the resolved
// recipe after overrides, each plugin's file, SHA-256, version and ABI, LibTorch's version, the
// seed, threads and the git revision of cap.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recipe/resolve.hpp"
#include "run/backend_report.hpp"

namespace cap {
const char* git_revision();  // generated at build time
}

namespace cap::run {

nlohmann::ordered_json build_manifest(const recipe::ResolvedRecipe& recipe, const recipe::Overrides& overrides,
                                      const BackendReport& backend, const std::vector<std::string>& command_line);

std::string utc_now();  // "2026-12-07T20:31:05Z", as the manifest's times are written

}  // namespace cap::run
