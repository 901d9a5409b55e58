// What a recipe means after includes, unsets and command-line overrides: later keys win,
// tables merge key by key, and every plugin option ends up with a value (its default if unset).
#include <doctest/doctest.h>

#include "recipe/resolve.hpp"
#include "support/process.hpp"
#include "support/registries.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using namespace cap::recipe;

namespace {
const cap::host::PluginRegistry& registry() { return cap::test::fixture_registry(); }

fs::path write_recipes(const std::string& test) {
    const fs::path dir = cap::test::scratch_dir(test);
    cap::test::write_text(dir / "base" / "glue.toml", R"(
[run]
name = "base"
seed = 7

[task]
name = "synthetic"

[criterion]
plugin = "fixture"
needed = 1

[schedule]
plugin = "iterative"
percents = [10, 20]
retrain_epochs = 3

[contrastive.fixture_contrast]
temperature = 0.2

[contrastive.second]
plugin = "fixture_contrast"
)");
    return cap::test::write_text(dir / "ablation.toml", R"(
include = "base/glue.toml"
unset = ["contrastive.second"]

[run]
name = "ablation"

[schedule]
retrain_epochs = 1
)");
}
}  // namespace

TEST_CASE("recipe merge: include, unset and own keys combine as documented") {
    auto r = resolve_recipe(write_recipes("merge"), {}, registry());
    CHECK(r.run_name == "ablation");  // own key wins
    CHECK(r.seed == 7);               // inherited
    REQUIRE(r.schedule);
    CHECK(std::get<double>(r.schedule->values.at("retrain_epochs")) == 1.0);
    CHECK(std::get<std::vector<double>>(r.schedule->values.at("percents")) == std::vector<double>{10, 20});
    REQUIRE(r.contrastive.size() == 1);  // "second" was unset
    CHECK(r.contrastive[0].section == "contrastive.fixture_contrast");
    CHECK(r.contrastive[0].plugin->name() == "fixture_contrast");  // named after its table
    CHECK(std::get<double>(r.contrastive[0].values.at("temperature")) == 0.2);
    CHECK(r.sources.size() == 2);
    // Defaults the recipe never mentions are filled in.
    CHECK(r.backend.plugin->name() == "cpu");
    CHECK(std::get<int64_t>(r.backend.values.at("threads")) == 0);
    CHECK(r.constraints.min_heads_per_layer == 1);
    CHECK(r.model.shape.num_layers == 2);
}

TEST_CASE("recipe merge: --unset then --set apply on top, in order") {
    Overrides o;
    o.unsets = {"contrastive.fixture_contrast"};
    o.sets = {"schedule.percents=[5, 15, 25]", "run.name=cli", "contrastive.second.plugin=fixture_contrast",
              "contrastive.second.temperature=0.5", "constraints.min_heads_per_layer=0"};
    auto r = resolve_recipe(write_recipes("overrides"), o, registry());
    CHECK(r.run_name == "cli");  // a bare word is a string
    CHECK(std::get<std::vector<double>>(r.schedule->values.at("percents")) == std::vector<double>{5, 15, 25});
    REQUIRE(r.contrastive.size() == 1);
    CHECK(r.contrastive[0].section == "contrastive.second");
    CHECK(std::get<double>(r.contrastive[0].values.at("temperature")) == 0.5);
    CHECK(r.constraints.min_heads_per_layer == 0);
    // The manifest's view records the override as the origin of the value.
    const Node* name = r.tree.find("run")->find("name");
    CHECK(name->origin.str() == "command line (--set run.name=cli)");
}

TEST_CASE("recipe merge: a Hugging Face folder gives the model shape from config.json") {
    const fs::path dir = cap::test::scratch_dir("hf_shape");
    cap::test::write_text(dir / "model" / "config.json",
                          R"({"vocab_size": 100, "num_hidden_layers": 4, "num_attention_heads": 4, "hidden_size": 256,
                              "intermediate_size": 1024})");
    auto file =
        cap::test::write_text(dir / "r.toml", "[model]\npretrained = \"model\"\n[task]\nname = \"synthetic\"\n");
    auto r = resolve_recipe(file, {}, registry());
    CHECK(r.model.shape.num_layers == 4);
    CHECK(r.model.shape.intermediate_size == 1024);
    CHECK(r.model.folder == dir / "model");

    cap::test::write_text(dir / "broken" / "config.json", R"({"num_hidden_layers": 4)");
    auto broken = cap::test::write_text(dir / "b.toml", "[model]\npretrained = \"broken\"\n");
    CHECK_THROWS_WITH_AS(resolve_recipe(broken, {}, registry()), doctest::Contains("is not valid JSON"), RecipeErrors);

    // A truncated weights file fails validation, naming it, before any training.
    cap::test::write_text(dir / "model" / "model.safetensors", std::string("\x40\0\0\0\0\0\0\0{\"x\"", 11));
    CHECK_THROWS_WITH_AS(resolve_recipe(file, {}, registry()),
                         doctest::Contains(((dir / "model" / "model.safetensors").string() +
                                            ": not a valid safetensors file: header length 64 runs past the end")
                                               .c_str()),
                         RecipeErrors);

    // config.json is read as the model loader reads it: what would fail the run fails validation.
    cap::test::write_text(
        dir / "partial" / "config.json",
        R"({"num_hidden_layers": 4, "num_attention_heads": 4, "hidden_size": 256, "intermediate_size": 1024})");
    auto partial = cap::test::write_text(dir / "p.toml", "[model]\npretrained = \"partial\"\n");
    CHECK_THROWS_WITH_AS(
        resolve_recipe(partial, {}, registry()),
        doctest::Contains(((dir / "partial" / "config.json").string() + ": missing 'vocab_size'").c_str()),
        RecipeErrors);
}

TEST_CASE("recipe merge: the resolved recipe serialises with every value") {
    auto r = resolve_recipe(write_recipes("json"), {}, registry());
    auto j = r.to_json();
    CHECK(j["run"]["name"] == "ablation");
    CHECK(j["schedule"]["plugin"] == "iterative");
    CHECK(j["schedule"]["retrain_epochs"] == 1.0);
    CHECK(j["contrastive"]["fixture_contrast"]["temperature"] == 0.2);
    CHECK(j["backend"]["precision"] == "float32");
}
