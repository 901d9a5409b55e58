// Whole runs on real data: fine-tuning bert-tiny-mlm on SST-2 must land within 1.5 points of
// the reference model's dev accuracy (78.90%), and a short SQuAD run must complete and score.
// Every CAP-f recipe for the tiny models (configs/cap-f/sst2-bert-tiny.toml and each ablation),
// and every CAP-m / CAP-soft / baseline recipe for them, must run to the end on real data,
// shortened. They take minutes, so they form the "slow"
// suite (ctest -LE slow skips them).
#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

TEST_SUITE("slow") {
    TEST_CASE("real runs: fine-tuning bert-tiny-mlm on SST-2 reaches the reference accuracy") {
        auto data = cap::test::data_dir();
        auto models = cap::test::models_dir();
        CAP_REQUIRE_SHARED(data, "shared data");
        CAP_REQUIRE_SHARED(models, "shared models");
        const fs::path out = cap::test::scratch_dir("sst2_finetune") / "run";
        auto r =
            cap::test::run_cap("run " + std::string(cap::test::kSourceDir) + "/configs/finetune/sst2-bert-tiny.toml" +
                               " --set model.pretrained=" + (*models / "bert-tiny-mlm").string() +
                               " --set task.data=" + (*data / "glue" / "SST-2").string() + " --out " + out.string());
        INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
        REQUIRE(r.exit_code == 0);
        auto summary = nlohmann::json::parse(cap::test::read_text(out / "summary.json"));
        auto reference = nlohmann::json::parse(cap::test::read_text(*models / "bert-tiny-sst2" / "finetune.json"));
        const double accuracy = summary["teacher"]["metrics"]["accuracy"].get<double>();
        const double expected = 100.0 * reference["sst2_dev_accuracy_maxlen64"].get<double>();
        MESSAGE("SST-2 dev accuracy " << accuracy << "% (reference " << expected << "%)");
        CHECK(std::abs(accuracy - expected) <= 1.5);
        // The saved teacher evaluates to the same figure through `cap eval`.
        auto eval = cap::test::run_cap("eval --model " + (out / "teacher").string() + " --task sst2 --data " +
                                       (*data / "glue" / "SST-2").string() + " --max-seq-length 64");
        REQUIRE(eval.exit_code == 0);
        auto j = nlohmann::json::parse(eval.output.substr(eval.output.rfind('{')));
        CHECK(j["accuracy"].get<double>() == doctest::Approx(accuracy).epsilon(1e-9));
    }

    TEST_CASE("real runs: a short SQuAD fine-tuning run completes and scores") {
        auto data = cap::test::data_dir();
        auto models = cap::test::models_dir();
        CAP_REQUIRE_SHARED(data, "shared data");
        CAP_REQUIRE_SHARED(models, "shared models");
        const fs::path dir = cap::test::scratch_dir("squad_short");
        auto recipe = cap::test::write_text(
            dir / "squad.toml", "[run]\nname = \"squad-short\"\n[model]\npretrained = \"" +
                                    (*models / "bert-tiny-mlm").string() + "\"\n[task]\nname = \"squad\"\ndata = \"" +
                                    (*data / "squad").string() + R"("
max_seq_length = 192
doc_stride = 64
max_train_examples = 2000
max_eval_examples = 300
[finetune]
epochs = 1
learning_rate = 5e-4
warmup_ratio = 0.1
)");
        auto r = cap::test::run_cap("run " + recipe.string() + " --out " + (dir / "run").string());
        INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
        REQUIRE(r.exit_code == 0);
        auto summary = nlohmann::json::parse(cap::test::read_text(dir / "run" / "summary.json"));
        const double f1 = summary["teacher"]["metrics"]["f1"].get<double>();
        const double em = summary["teacher"]["metrics"]["exact_match"].get<double>();
        MESSAGE("SQuAD (300 dev questions, 1 epoch on 2000 train questions): EM " << em << ", F1 " << f1);
        CHECK(f1 > 2.0);  // an untrained span head scores about 0
        CHECK(em <= f1);
        auto eval = cap::test::run_cap("eval --model " + (dir / "run" / "teacher").string() + " --task squad --data " +
                                       (*data / "squad").string() + " --max-seq-length 192 --doc-stride 64 --out " +
                                       (dir / "predictions.jsonl").string());
        REQUIRE(eval.exit_code == 0);
        auto first = nlohmann::json::parse(cap::test::read_text(dir / "predictions.jsonl")
                                               .substr(0, cap::test::read_text(dir / "predictions.jsonl").find('\n')));
        CHECK(first.contains("id"));
        CHECK(first.contains("prediction"));
    }

    TEST_CASE("real runs: the tiny CAP-f recipe and every ablation run to the end, shortened") {
        auto data = cap::test::data_dir();
        auto models = cap::test::models_dir();
        CAP_REQUIRE_SHARED(data, "shared data");
        CAP_REQUIRE_SHARED(models, "shared models");
        const fs::path configs = fs::path(cap::test::kSourceDir) / "configs";
        std::vector<fs::path> recipes{configs / "cap-f" / "sst2-bert-tiny.toml"};
        for (const auto& e : fs::directory_iterator(configs / "ablations"))
            if (e.path().extension() == ".toml") recipes.push_back(e.path());
        std::sort(recipes.begin() + 1, recipes.end());
        REQUIRE(recipes.size() >= 9);
        const fs::path dir = cap::test::scratch_dir("ablations");
        // Same recipes, a sliver of the work: 600 training examples, two stages of half an epoch.
        const std::string shorten = " --set model.pretrained=" + (*models / "bert-tiny-mlm").string() +
                                    " --set model.teacher=" + (*models / "bert-tiny-sst2").string() +
                                    " --set task.data=" + (*data / "glue" / "SST-2").string() +
                                    " --set task.max_train_examples=600 --set task.max_eval_examples=300"
                                    " --set schedule.percents=[30,60] --set schedule.retrain_epochs=0.5"
                                    " --set prune.importance_subset=0.5 --set prune.save_masked=false";
        for (const auto& recipe : recipes) {
            CAPTURE(recipe.string());
            const fs::path out = dir / recipe.stem();
            auto r = cap::test::run_cap("run " + recipe.string() + shorten + " --out " + out.string());
            INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
            REQUIRE(r.exit_code == 0);
            auto summary = nlohmann::json::parse(cap::test::read_text(out / "summary.json"));
            CHECK(summary["stages"].size() == 2);
            CHECK(summary["final"]["accuracy"].get<double>() > 40.0);
            CHECK(fs::exists(out / "final" / "model.safetensors"));
            CHECK(fs::exists(out / "masks.safetensors"));
        }
    }

    TEST_CASE("real runs: the tiny CAP-m, CAP-soft and baseline recipes run to the end, shortened") {
        auto data = cap::test::data_dir();
        auto models = cap::test::models_dir();
        CAP_REQUIRE_SHARED(data, "shared data");
        CAP_REQUIRE_SHARED(models, "shared models");
        const fs::path configs = fs::path(cap::test::kSourceDir) / "configs";
        std::vector<fs::path> recipes{configs / "cap-m" / "sst2-bert-tiny.toml",
                                      configs / "cap-soft" / "sst2-bert-tiny.toml"};
        for (const char* b : {"magnitude", "movement", "soft-movement"})
            recipes.push_back(configs / "baselines" / (std::string(b) + "-sst2-bert-tiny.toml"));
        const fs::path dir = cap::test::scratch_dir("unstructured");
        // 600 training examples, 2 epochs (one snapshot), the cubic schedule squeezed to fit.
        const std::string shorten = " --set model.pretrained=" + (*models / "bert-tiny-mlm").string() +
                                    " --set model.teacher=" + (*models / "bert-tiny-sst2").string() +
                                    " --set task.data=" + (*data / "glue" / "SST-2").string() +
                                    " --set task.max_train_examples=600 --set task.max_eval_examples=300"
                                    " --set prune.epochs=2 --set prune.warmup_steps=4 --set schedule.warmup_steps=4";
        for (const auto& recipe : recipes) {
            CAPTURE(recipe.string());
            const fs::path out = dir / (recipe.parent_path().filename().string() + "-" + recipe.stem().string());
            auto r = cap::test::run_cap("run " + recipe.string() + shorten + " --out " + out.string());
            INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
            REQUIRE(r.exit_code == 0);
            auto summary = nlohmann::json::parse(cap::test::read_text(out / "summary.json"));
            CHECK(summary["final"]["accuracy"].get<double>() > 40.0);
            const double remaining = summary["final"]["remaining_weights"].get<double>();
            // Top-k reads the reference's count: int(0.1 * numel) of each matrix plus the 3,328
            // biases and LayerNorm parameters. Soft movement's figure depends on its training
            // (in 38 steps its scores cannot fall below sigmoid^-1(0.1)).
            if (recipe.string().find("soft") == std::string::npos)
                CHECK(remaining == doctest::Approx(100.0 * 42644 / 396544).epsilon(1e-6));
            else
                CHECK(remaining <= 100.0);
            CHECK(fs::exists(out / "final" / "model.safetensors"));
            CHECK(fs::exists(out / "masks.safetensors"));
            CHECK(fs::exists(out / "remaining_weights.csv"));
        }
    }
}
