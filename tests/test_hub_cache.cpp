// Models named by their Hugging Face id, read from a local cache laid out as huggingface_hub
// lays it out: models--<org>--<name>/{refs/<branch>, snapshots/<commit>/, blobs/}.
#include <doctest/doctest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "hf/hub_cache.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;
using cap::test::run_cap;

namespace {

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

// A cache under `hub` holding google/bert_uncased_L-2_H-128_A-2 at kCommit (refs/main and
// refs/v1 name it): the files of `model` as blobs, the snapshot as links to them.
void lay_out_cache(const fs::path& hub, const fs::path& model) {
    const fs::path repo = hub / "models--google--bert_uncased_L-2_H-128_A-2";
    const fs::path snapshot = repo / "snapshots" / kCommit;
    fs::create_directories(snapshot);
    fs::create_directories(repo / "blobs");
    for (const char* f : {"config.json", "vocab.txt", "model.safetensors"}) {
        const fs::path blob = repo / "blobs" / (std::string("blob-") + f);
        fs::create_symlink(model / f, blob);
        fs::create_symlink(fs::path("../../blobs") / blob.filename(), snapshot / f);
    }
    cap::test::write_text(repo / "refs" / "main", std::string(kCommit) + "\n");
    cap::test::write_text(repo / "refs" / "v1", kCommit);
}

// Sets an environment variable for the scope of a test; restores it after.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_)
            setenv(name_, old_->c_str(), 1);
        else
            unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("hub cache: model ids are told apart from paths") {
    using cap::hf::is_model_id;
    CHECK(is_model_id("bert-base-uncased"));
    CHECK(is_model_id("google/bert_uncased_L-2_H-128_A-2"));
    CHECK(is_model_id("org/name@v1.0"));
    CHECK(is_model_id("org/name@0123abc"));
    CHECK_FALSE(is_model_id("../models/bert"));
    CHECK_FALSE(is_model_id("a/b/c"));
    CHECK_FALSE(is_model_id("/abs/path"));
    CHECK_FALSE(is_model_id("./local"));
    CHECK_FALSE(is_model_id("org/"));
    CHECK_FALSE(is_model_id("name@"));
    CHECK_FALSE(is_model_id("with space"));
    CHECK_FALSE(is_model_id("a--b/c"));  // both would be the folder models--a--b--c
    CHECK_FALSE(is_model_id("org/name-"));
    CHECK_FALSE(is_model_id("org./name"));
}

TEST_CASE("hub cache: the cache folder follows HF_HUB_CACHE, then HF_HOME, then the home folder") {
    ScopedEnv hub("HF_HUB_CACHE", "/x/hub");
    CHECK(cap::hf::hub_cache_dir() == fs::path("/x/hub"));
    unsetenv("HF_HUB_CACHE");
    {
        ScopedEnv home("HF_HOME", "/y/hf");
        CHECK(cap::hf::hub_cache_dir() == fs::path("/y/hf/hub"));
    }
    ScopedEnv xdg("XDG_CACHE_HOME", "/z/cache");
    unsetenv("HF_HOME");
    CHECK(cap::hf::hub_cache_dir() == fs::path("/z/cache/huggingface/hub"));
}

TEST_CASE(
    "hub cache: ids resolve to the snapshot of refs/main, a branch or a commit, and a missing one says how to fetch "
    "it") {
    const fs::path dir = cap::test::scratch_dir("hub_cache_unit");
    const fs::path model = dir / "model";
    cap::test::write_text(model / "config.json", "{}");
    cap::test::write_text(model / "vocab.txt", "[PAD]\n");
    cap::test::write_text(model / "model.safetensors", "");
    lay_out_cache(dir / "hub", model);
    ScopedEnv hub("HF_HUB_CACHE", (dir / "hub").string());

    const fs::path snapshot = dir / "hub" / "models--google--bert_uncased_L-2_H-128_A-2" / "snapshots" / kCommit;
    for (const std::string& id :
         std::vector<std::string>{"google/bert_uncased_L-2_H-128_A-2", "google/bert_uncased_L-2_H-128_A-2@v1",
                                  std::string("google/bert_uncased_L-2_H-128_A-2@") + kCommit}) {
        CAPTURE(id);
        auto found = cap::hf::find_cached_model(id);
        REQUIRE(found.folder);
        CHECK(*found.folder == snapshot);
    }

    auto missing = cap::hf::find_cached_model("bert-base-uncased");
    CHECK_FALSE(missing.folder);
    CHECK(missing.problem.find((dir / "hub").string()) != std::string::npos);
    CHECK(missing.problem.find("huggingface-cli download bert-base-uncased") != std::string::npos);
    CHECK(missing.problem.find("cap itself never downloads") != std::string::npos);

    auto no_revision = cap::hf::find_cached_model("google/bert_uncased_L-2_H-128_A-2@v2");
    CHECK_FALSE(no_revision.folder);
    CHECK(no_revision.problem.find("not its revision 'v2'") != std::string::npos);
    CHECK(no_revision.problem.find("--revision v2") != std::string::npos);

    // A ref that does not name a commit is refused, not followed outside the cache.
    cap::test::write_text(dir / "hub" / "models--google--bert_uncased_L-2_H-128_A-2" / "refs" / "evil", "../../../x");
    auto evil = cap::hf::find_cached_model("google/bert_uncased_L-2_H-128_A-2@evil");
    CHECK_FALSE(evil.folder);
    CHECK(evil.problem.find("does not name a commit") != std::string::npos);

    // A folder of that name wins over the cache, relative to where the name was written.
    fs::create_directories(dir / "google" / "bert_uncased_L-2_H-128_A-2");
    auto local = cap::hf::find_model("google/bert_uncased_L-2_H-128_A-2", dir);
    REQUIRE(local.folder);
    CHECK(*local.folder == dir / "google" / "bert_uncased_L-2_H-128_A-2");
}

TEST_CASE(
    "hub cache: a recipe and cap eval take a cached model id, and an uncached one is refused before anything is "
    "written") {
    auto models = cap::test::models_dir();
    auto data = cap::test::data_dir();
    CAP_REQUIRE_SHARED(models, "shared models");
    CAP_REQUIRE_SHARED(data, "shared data");
    const fs::path dir = cap::test::scratch_dir("hub_cache_cli");
    lay_out_cache(dir / "hub", *models / "bert-tiny-sst2");
    const std::string env = "HF_HUB_CACHE=" + (dir / "hub").string() + " ";
    const std::string id = "google/bert_uncased_L-2_H-128_A-2";

    // cap eval: the id, and one dev file rather than the task's folder.
    auto e = cap::test::run_command(env + cap::test::kCapExe + " eval --model " + id + " --task sst2 --data " +
                                    (*data / "glue" / "SST-2" / "dev.tsv").string());
    INFO(e.output);
    REQUIRE(e.exit_code == 0);
    auto metrics = nlohmann::json::parse(e.output.substr(e.output.rfind("{\"model\"")));
    CHECK(metrics["accuracy"].get<double>() == doctest::Approx(78.90).epsilon(0.0002));

    // A recipe: validates, and the run folder's recipe.toml records the snapshot it read.
    const auto recipe =
        cap::test::write_text(dir / "r.toml", "[model]\npretrained = \"" + id + "\"\nteacher = \"" + id +
                                                  "@v1\"\n[task]\nname = \"sst2\"\n"
                                                  "data = \"" +
                                                  (*data / "glue" / "SST-2").string() +
                                                  "\"\nmax_eval_examples = 8\n"
                                                  "max_train_examples = 8\n");
    auto v = cap::test::run_command(env + cap::test::kCapExe + " validate " + recipe.string());
    INFO(v.output);
    CHECK(v.exit_code == 0);
    auto r = cap::test::run_command(env + cap::test::kCapExe + " run " + recipe.string() + " --out " +
                                    (dir / "run").string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(cap::test::read_text(dir / "run" / "recipe.toml").find(std::string("snapshots/") + kCommit) !=
          std::string::npos);

    // Not cached: exit 2, the recipe's line and key, the command that fetches it, nothing written.
    const auto absent = cap::test::write_text(dir / "absent.toml", "[model]\npretrained = \"bert-base-uncased\"\n");
    auto a = cap::test::run_command(env + cap::test::kCapExe + " run " + absent.string() + " --out " +
                                    (dir / "absent-run").string());
    CHECK(a.exit_code == 2);
    CHECK(a.output.find(absent.string() + ":2:14: error: model.pretrained: 'bert-base-uncased' is neither a folder (" +
                        (dir / "bert-base-uncased").string() + ") nor a model in the Hugging Face cache (" +
                        (dir / "hub").string() + ")") != std::string::npos);
    CHECK(a.output.find("huggingface-cli download bert-base-uncased") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "absent-run"));
}
