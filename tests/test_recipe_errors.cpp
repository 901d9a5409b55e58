// Every kind of recipe mistake is reported at the file, line and column where it was written
// (through includes too), or at the command-line argument that caused it.
#include <doctest/doctest.h>

#include "recipe/resolve.hpp"
#include "support/process.hpp"
#include "support/registries.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using namespace cap::recipe;

namespace {

const cap::host::PluginRegistry& registry() { return cap::test::fixture_registry(); }

// A recipe needs a [task]; the cases below that are about something else get one after their
// own lines, so the line numbers they check are unchanged.
std::string with_task(const std::string& text) {
    return text.find("[task]") == std::string::npos ? text + "\n[task]\nname = \"synthetic\"\n" : text;
}

// Resolves `text` (written to <test>/recipe.toml) and returns every diagnostic as a string.
std::vector<std::string> errors_of(const std::string& test, const std::string& text, Overrides overrides = {}) {
    const fs::path file = cap::test::write_text(cap::test::scratch_dir(test) / "recipe.toml", with_task(text));
    try {
        resolve_recipe(file, overrides, registry());
    } catch (const RecipeErrors& e) {
        std::vector<std::string> out;
        for (const auto& d : e.diagnostics()) out.push_back(d.str());
        return out;
    }
    return {};
}

std::string at(const std::string& test, int line, int column) {
    return (fs::path(cap::test::kScratch) / test / "recipe.toml").lexically_normal().string() + ":" +
           std::to_string(line) + ":" + std::to_string(column) + ": error: ";
}

// Asserts exactly one diagnostic, at (line, column), containing `says`.
void expect_one(const std::string& test, const std::string& text, int line, int column, const std::string& says,
                Overrides overrides = {}) {
    auto errors = errors_of(test, text, overrides);
    REQUIRE(errors.size() == 1);
    const std::string where = at(test, line, column);
    CHECK(errors[0].substr(0, where.size()) == where);
    CHECK(errors[0].find(says) != std::string::npos);
    CAPTURE(errors[0]);
}

const char* kCriterionHeader = "[criterion]\nplugin = \"fixture\"\nneeded = 1\n";

}  // namespace

TEST_CASE("recipe errors: a valid recipe has none") {
    auto errors =
        errors_of("valid", std::string(kCriterionHeader) + "[schedule]\nplugin = \"iterative\"\npercents = [25, 50]\n");
    INFO((errors.empty() ? std::string() : errors[0]));
    CHECK(errors.empty());
}

TEST_CASE("recipe errors: invalid TOML points at the syntax error") {
    expect_one("syntax", "[run]\nname = \"x\"\nseed = = 3\n", 3, 8, "invalid TOML");
}

TEST_CASE("recipe errors: unknown plugin, with the closest name") {
    expect_one("unknown_plugin", "[schedule]\nplugin = \"iterativ\"\n", 2, 10,
               "unknown schedule plugin 'iterativ' (did you mean 'iterative'?)");
    expect_one("unknown_plugin_far", "[schedule]\nplugin = \"zzz\"\n", 2, 10, "(available: ");
}

TEST_CASE("recipe errors: unknown key, with the closest valid name") {
    expect_one("unknown_key", std::string(kCriterionHeader) + "scael = 2.0\n", 4, 1,
               "unknown key 'scael' in [criterion] for criterion plugin 'fixture' (did you mean 'scale'?)");
    expect_one("unknown_table", "[shedule]\nplugin = \"iterative\"\n", 1, 2,
               "unknown recipe table or key 'shedule' (did you mean 'schedule'?)");
    expect_one("unknown_run_key", "[run]\nsed = 3\n", 2, 1, "unknown key 'sed' in [run] (did you mean 'seed'?)");
}

TEST_CASE("recipe errors: wrong type") {
    expect_one("wrong_type", std::string(kCriterionHeader) + "scale = \"big\"\n", 4, 9,
               "scale must be a number, not string");
    expect_one("wrong_type_int", "[criterion]\nplugin = \"fixture\"\nneeded = 1.5\n", 3, 10,
               "needed must be an integer, not float");
    expect_one("wrong_type_list", std::string(kCriterionHeader) + "targets = [0.5, \"x\"]\n", 4, 17,
               "targets elements must be numbers, not string");
    expect_one("wrong_type_table", "schedule = 3\n", 1, 1, "'schedule' must be a table");
}

TEST_CASE("recipe errors: out of range and not among the choices") {
    expect_one("range", std::string(kCriterionHeader) + "scale = 11\n", 4, 9, "scale = 11.0 is out of range [0, 10]");
    expect_one("range_list", std::string(kCriterionHeader) + "targets = [0.5, 1.5]\n", 4, 17,
               "targets element = 1.5 is out of range [0, 1]");
    expect_one("choices", std::string(kCriterionHeader) + "mode = \"mx\"\n", 4, 8,
               "mode = \"mx\" is not one of: sum, max (did you mean 'max'?)");
    expect_one("range_host", "[run]\nseed = -1\n", 2, 8, "seed = -1 is out of range >= 0");
}

TEST_CASE("recipe errors: missing required key and missing file") {
    expect_one("required", "[criterion]\nplugin = \"fixture\"\n", 1, 1, "[criterion] is missing required key 'needed'");
    expect_one("missing_file", std::string(kCriterionHeader) + "vocab = \"no/such/vocab.txt\"\n", 4, 9,
               "vocab: no such file or folder: ");
    expect_one("missing_model", "[model]\npretrained = \"models/none/here\"\n", 2, 14, "no such folder: ");
    expect_one("empty_model", "[model]\npretrained = \".\"\n", 2, 14, "no config.json in ");
}

TEST_CASE("recipe errors: a path that exists resolves against the recipe's folder") {
    const fs::path dir = cap::test::scratch_dir("path_ok_recipe");
    cap::test::write_text(dir / "vocab.txt", "[PAD]\n");
    const fs::path file =
        cap::test::write_text(dir / "r.toml", with_task(std::string(kCriterionHeader) + "vocab = \"vocab.txt\"\n" +
                                                        "[schedule]\nplugin = \"iterative\"\npercents = [10]\n"));
    auto r = resolve_recipe(file, {}, registry());
    CHECK(std::get<std::string>(r.criterion->values.at("vocab")) == (dir / "vocab.txt").string());
}

TEST_CASE("recipe errors: bad --set and --unset name the argument") {
    auto errors =
        errors_of("bad_set", kCriterionHeader,
                  Overrides{{"criterion.scale", "criterion.needed.x=1", "criterion.sc@le=1", "criterion.scale=[1"},
                            {"contrastive.snc"}});
    REQUIRE(errors.size() == 5);
    CHECK(errors[0] == "command line (--unset contrastive.snc): error: no key 'contrastive' in the recipe");
    CHECK(errors[1] == "command line (--set criterion.scale): error: expected KEY=VALUE");
    CHECK(errors[2].find("command line (--set criterion.needed.x=1): error: 'criterion.needed' is a integer") == 0);
    CHECK(errors[3].find("character '@' is not allowed") != std::string::npos);
    CHECK(errors[4] == "command line (--set criterion.scale=[1): error: '[1' is not a valid TOML value");
}

TEST_CASE("recipe errors: a --set value of the wrong type is reported at the argument") {
    auto errors = errors_of("set_type", kCriterionHeader, Overrides{{"criterion.scale=big"}, {}});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("command line (--set criterion.scale=big): error: scale must be a number, not string") == 0);
}

TEST_CASE("recipe errors: an unavailable backend fails validation with its reason") {
    expect_one("cuda", "[backend]\nplugin = \"cuda\"\n", 2, 10,
               "backend 'cuda' is not available here: this LibTorch (");
}

TEST_CASE("recipe errors: a schedule the model cannot meet fails validation") {
    expect_one("schedule_fit", "[schedule]\nplugin = \"iterative\"\npercents = [10, 90]\n", 2, 10,
               "target 90% prunes 3 of 4 heads, but min_heads_per_layer = 1 protects 2");
}

TEST_CASE("recipe errors: mistakes in an included file point into that file") {
    const fs::path dir = cap::test::scratch_dir("include_error");
    cap::test::write_text(dir / "base" / "base.toml",
                          "[run]\nseed = 1\n\n[schedule]\nplugin = \"iterative\"\nretrain_epoch = 2\n");
    const fs::path child = cap::test::write_text(dir / "child.toml", "include = \"base/base.toml\"\n[run]\nseed = 2\n");
    try {
        resolve_recipe(child, {}, registry());
        FAIL("expected an error");
    } catch (const RecipeErrors& e) {
        REQUIRE(e.diagnostics().size() == 1);
        CHECK(e.diagnostics()[0].str().find((dir / "base" / "base.toml").string() +
                                            ":6:1: error: unknown key 'retrain_epoch'") == 0);
        CHECK(e.diagnostics()[0].str().find("did you mean 'retrain_epochs'?") != std::string::npos);
    }
}

TEST_CASE("recipe errors: missing includes, include cycles and bad unset entries") {
    const fs::path dir = cap::test::scratch_dir("include_problems");
    auto missing = cap::test::write_text(dir / "missing.toml", "include = \"nope.toml\"\n");
    CHECK_THROWS_WITH_AS(load_recipe(missing), doctest::Contains("missing.toml:1:11: error: recipe not found: "),
                         RecipeErrors);
    cap::test::write_text(dir / "a.toml", "include = \"b.toml\"\n");
    auto b = cap::test::write_text(dir / "b.toml", "include = \"a.toml\"\n");
    CHECK_THROWS_WITH_AS(load_recipe(b), doctest::Contains("include cycle"), RecipeErrors);
    auto unset = cap::test::write_text(dir / "unset.toml", "include = \"base.toml\"\nunset = [\"run.sed\"]\n");
    cap::test::write_text(dir / "base.toml", "[run]\nseed = 1\n");
    CHECK_THROWS_WITH_AS(load_recipe(unset), doctest::Contains("unset.toml:2:10: error: unset 'run.sed': no such key"),
                         RecipeErrors);
}

TEST_CASE("recipe errors: the run name must be usable as a folder name") {
    expect_one("run_name", "[run]\nname = \"../../escape\"\n", 2, 8, "run name '../../escape' must be letters");
    expect_one("run_name_abs", "[run]\nname = \"/tmp/x\"\n", 2, 8, "must be letters, digits");
}

TEST_CASE("recipe errors: constraints must fit the model") {
    expect_one("min_heads", "[constraints]\nmin_heads_per_layer = 3\n", 2, 23,
               "min_heads_per_layer = 3 exceeds the 2 heads per layer of builtin:bert-tiny");
    expect_one("min_heads_huge", "[constraints]\nmin_heads_per_layer = 4294967297\n", 2, 23, "is out of range");
}

TEST_CASE("recipe errors: a folder is not a recipe") {
    const fs::path dir = cap::test::scratch_dir("folder_recipe");
    CHECK_THROWS_WITH_AS(load_recipe(dir), doctest::Contains("not a recipe file (a folder?)"), RecipeErrors);
}

TEST_CASE("recipe errors: backend auto says why it chose cpu when a key only cuda knows is used") {
    expect_one("auto_cuda_key", "[backend]\nplugin = \"auto\"\nallow_tf32 = true\n", 3, 1,
               "unknown key 'allow_tf32' in [backend] for backend plugin 'cpu'");
    auto errors = errors_of("auto_cuda_key2", "[backend]\nallow_tf32 = true\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("(backend \"auto\" chose cpu: cuda") != std::string::npos);
}

TEST_CASE("recipe errors: a score-based criterion does not fit a schedule of stages") {
    expect_one("criterion_schedule",
               "[criterion]\nplugin = \"fixture_topk\"\n[schedule]\nplugin = \"iterative\"\npercents = [25, 50]\n", 4,
               10, "criterion 'fixture_topk' and schedule 'iterative' do not fit: the criterion is score-based");
}

TEST_CASE("recipe errors: needs that the criterion's granularity cannot get are refused before training") {
    // A structured criterion asking for learnable scores: the run would refuse it after the
    // teacher's fine-tuning; validation names the criterion and the fix.
    expect_one("needs_scores",
               std::string(kCriterionHeader) + "extra_needs = 8\n[schedule]\nplugin = \"iterative\"\npercents = [50]\n",
               2, 10, "criterion 'fixture': a structured criterion cannot ask for learnable scores (CAP_NEEDS_SCORES)");
    // An unstructured, importance-based criterion asking for mask gradients (it gets weight
    // gradients instead).
    expect_one("needs_mask_grads_per_weight",
               std::string(kCriterionHeader) +
                   "granularity = \"unstructured\"\nextra_needs = 1\n[schedule]\nplugin = \"iterative\"\n"
                   "percents = [50]\n",
               2, 10,
               "criterion 'fixture': an unstructured, importance-based criterion gets each weight, its gradient");
    expect_one(
        "needs_unknown",
        std::string(kCriterionHeader) + "extra_needs = 256\n[schedule]\nplugin = \"iterative\"\npercents = [50]\n", 2,
        10, "needs has bits this host (ABI 1.3) does not know: 0x100");
}

TEST_CASE("recipe errors: several mistakes are all reported at once") {
    auto errors = errors_of(
        "many", "[run]\nsed = 1\n[criterion]\nplugin = \"fixture\"\nscale = 99\n[schedule]\nplugin = \"nope\"\n");
    CHECK(errors.size() == 4);  // sed, missing needed, scale range, unknown schedule
}
