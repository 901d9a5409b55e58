// Whole runs on real data: fine-tuning bert-tiny-mlm on SST-2 must land within 1.5 points of
// the reference model's dev accuracy (78.90%), and a short SQuAD run must complete and score.
// Every CAP-f recipe for the tiny models (configs/cap-f/sst2-bert-tiny.toml and each ablation),
// and every CAP-m / CAP-soft / baseline recipe for them, must run to the end on real data,
// shortened. MiniLM, a real pre-trained encoder of another shape (6 layers of 12 heads of 32), runs
// a few steps of CAP-f and CAP-m unchanged. They take minutes, so they form the "slow"
// suite (ctest -LE slow skips them).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "hf/safetensors_format.hpp"
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

    // all-MiniLM-L6-v2 as it ships (bare keys, no classifier): a teacher fine-tuned on a handful
    // of sentences, then a few steps of CAP-f and of CAP-m with every contrastive module. The
    // planned counts follow from its shape: 72 heads and 9,216 FFN neurons; six linears per layer.
    TEST_CASE("real runs: MiniLM (12 heads of 32 per layer) runs CAP-f and CAP-m with the planned counts") {
        auto data = cap::test::data_dir();
        auto models = cap::test::models_dir();
        CAP_REQUIRE_SHARED(data, "shared data");
        CAP_REQUIRE_SHARED(models, "shared models");
        const fs::path minilm = *models / "all-MiniLM-L6-v2";
        if (!fs::exists(minilm / "model.safetensors")) {
            MESSAGE("SKIP: shared models without all-MiniLM-L6-v2 (set CAP_DATA_DIR / CAP_MODELS_DIR)");
            return;
        }
        const fs::path dir = cap::test::scratch_dir("minilm");
        const std::string common = "[model]\npretrained = \"" + minilm.string() +
                                   "\"\n[task]\nname = \"sst2\"\ndata = \"" + (*data / "glue" / "SST-2").string() +
                                   "\"\nmax_seq_length = 32\nmax_train_examples = 48\nmax_eval_examples = 32\n"
                                   "[finetune]\nepochs = 1\nbatch_size = 16\n"
                                   "[contrastive.prc]\nextra_negatives = 32\n[contrastive.snc]\nextra_negatives = 32\n"
                                   "[contrastive.fic]\nextra_negatives = 32\n[distill]\nplugin = \"kd\"\n";
        auto run = [&](const std::string& name, const std::string& tables) {
            const fs::path recipe =
                cap::test::write_text(dir / (name + ".toml"), "[run]\nname = \"" + name + "\"\n" + common + tables);
            auto r = cap::test::run_cap("run " + recipe.string() + " --out " + (dir / name).string());
            INFO(r.output.substr(r.output.size() > 3000 ? r.output.size() - 3000 : 0));
            REQUIRE(r.exit_code == 0);
            return dir / name;
        };
        struct Mask {  // a mask's shape and how many of its entries are 1
            std::vector<int64_t> shape;
            int64_t numel = 1, kept = 0;
        };
        auto masks_of = [](const fs::path& run) {
            const auto file = cap::hf::read_safetensors_bytes(run / "masks.safetensors");
            std::map<std::string, Mask> out;
            for (const auto& e : file.header.entries) {
                Mask m{e.shape};
                for (auto d : e.shape) m.numel *= d;
                for (float v : cap::hf::safetensors_floats(file, e)) m.kept += v > 0.5f;
                out[e.name] = m;
            }
            return out;
        };

        // CAP-f at 30% and 50%: int(72 p) heads and int(9216 p) neurons pruned, at least one
        // head left in every layer (min_heads_per_layer = 1, the default).
        const fs::path capf = run("capf",
                                  "[criterion]\nplugin = \"first_order\"\n[schedule]\nplugin = \"iterative\"\n"
                                  "percents = [30, 50]\nretrain_epochs = 0.34\n[prune]\nbatch_size = 16\n"
                                  "importance_batch_size = 16\n");
        auto m = masks_of(capf);
        REQUIRE(m.count("stage_01.heads"));
        CHECK(m["stage_00.heads"].shape == std::vector<int64_t>{6, 12});
        CHECK(m["stage_00.ffn"].shape == std::vector<int64_t>{6, 1536});
        CHECK(m["stage_00.heads"].kept == 72 - 21);
        CHECK(m["stage_00.ffn"].kept == 9216 - 2764);
        CHECK(m["stage_01.heads"].kept == 72 - 36);
        CHECK(m["stage_01.ffn"].kept == 9216 - 4608);
        auto summary = nlohmann::json::parse(cap::test::read_text(capf / "summary.json"));
        REQUIRE(summary["stages"].size() == 2);
        CHECK(summary["stages"][1]["heads_kept"] == 36);
        CHECK(summary["stages"][1]["ffn_neurons_kept"] == 4608);
        // The compacted model keeps 36 heads of 32 and 4,608 neurons, its config says which, and
        // it scores what the masked model scored at the last stage.
        auto config = nlohmann::json::parse(cap::test::read_text(capf / "final" / "config.json"));
        int64_t pruned_heads = 0, neurons = 0;
        for (const auto& [layer, heads] : config["pruned_heads"].items()) pruned_heads += int64_t(heads.size());
        for (const auto& n : config["intermediate_sizes"]) neurons += n.get<int64_t>();
        CHECK(pruned_heads == 36);
        CHECK(neurons == 4608);
        CHECK(summary["final"]["accuracy"].get<double>() ==
              doctest::Approx(summary["stages"][1]["accuracy"].get<double>()));

        // CAP-m, top-k at 10% per matrix: each of the 36 linears keeps int(0.1 numel).
        const fs::path capm = run("capm",
                                  "[criterion]\nplugin = \"movement\"\n[schedule]\nplugin = \"cubic\"\n"
                                  "final_threshold = 0.1\nwarmup_steps = 1\ninitial_warmup = 0\nfinal_warmup = 1\n"
                                  "[prune]\nepochs = 1\nbatch_size = 16\nwarmup_steps = 1\n");
        auto w = masks_of(capm);
        CHECK(w.size() == 36);
        for (const auto& [name, mask] : w) {
            CAPTURE(name);
            CHECK(mask.kept == int64_t(0.1 * double(mask.numel)));
        }
        // Remaining as the reference counts it (docs/algorithms.md §6): 6 x (4 x 14,745 + 2 x
        // 58,982) kept weights and 6 x 4,992 biases and LayerNorm, of 10,616,832 + 29,952.
        auto msum = nlohmann::json::parse(cap::test::read_text(capm / "summary.json"));
        CHECK(msum["final"]["remaining_weights"].get<double>() ==
              doctest::Approx(100.0 * (1061664 + 29952) / (10616832 + 29952)).epsilon(1e-6));
    }
}
