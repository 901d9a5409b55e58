#include <iostream>

#include "cli/commands.hpp"
#include "recipe/resolve.hpp"
#include "util/error_text.hpp"

namespace cap::cli {

int cmd_validate(const GlobalOptions& global, const std::string& recipe_file, const recipe::Overrides& overrides) {
    host::PluginRegistry registry = discover_plugins(global);
    report_registry_problems(registry);
    try {
        recipe::ResolvedRecipe r = recipe::resolve_recipe(recipe_file, overrides, registry);
        std::cout << recipe_file << ": ok (backend " << r.backend.plugin->name();
        if (r.criterion) std::cout << ", criterion " << r.criterion->plugin->name();
        if (r.schedule) std::cout << ", schedule " << r.schedule->plugin->name();
        for (const auto& c : r.contrastive) std::cout << ", " << c.section << " " << c.plugin->name();
        if (r.distill) std::cout << ", distill " << r.distill->plugin->name();
        std::cout << ")\n";
        return kExitOk;
    } catch (const recipe::RecipeErrors& e) {
        print_diagnostics(e.diagnostics());
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << recipe_file << ": error: " << util::error_text(e) << "\n";
        return kExitUsage;
    }
}

}  // namespace cap::cli
