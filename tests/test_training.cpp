// Training: the learning-rate schedule, AdamW's groups, learning the synthetic task, and a run
// killed mid-way that resumes to the same weights as an uninterrupted one.
#include <ATen/ATen.h>
#include <doctest/doctest.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>
#include <torch/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "data/task.hpp"
#include "model/safetensors.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "support/test_device.hpp"
#include "test_paths.hpp"
#include "train/adamw.hpp"
#include "train/fine_tune.hpp"
#include "train/lr_schedule.hpp"

namespace fs = std::filesystem;
using namespace cap;

TEST_CASE("training: the linear schedule rises over the warm-up and falls to zero, as Hugging Face's") {
    train::LinearSchedule s(10, 110);
    CHECK(s.factor(0) == 0.0);  // the first step of a warm-up uses a zero learning rate
    CHECK(s.factor(5) == doctest::Approx(0.5));
    CHECK(s.factor(10) == doctest::Approx(1.0));
    CHECK(s.factor(60) == doctest::Approx(0.5));
    CHECK(s.factor(110) == 0.0);
    CHECK(train::LinearSchedule(0, 4).factor(0) == doctest::Approx(1.0));
}

namespace {
model::Bert small_bert(uint64_t seed) {
    hf::BertConfig c;
    c.vocab_size = 32;
    c.hidden_size = 8;
    c.num_hidden_layers = 1;
    c.num_attention_heads = 2;
    c.intermediate_size = 8;
    c.max_position_embeddings = 16;
    c.labels = {"a", "b"};
    at::manual_seed(seed);
    return model::Bert(c, model::TaskHead::kClassification);
}

void backward_once(model::Bert& m) {
    at::manual_seed(1);
    at::Tensor ids = at::randint(5, 32, {4, 6}, at::kLong);
    at::cross_entropy_loss(m->forward({ids, {}, {}}).logits, at::tensor({0L, 1L, 1L, 0L})).backward();
}
}  // namespace

TEST_CASE("training: AdamW exempts biases and LayerNorm weights from weight decay") {
    auto m = small_bert(0);
    train::AdamW opt(m, {1e-3, 0.01, 1e-8});
    size_t decayed = 0;
    for (const auto& p : opt.params()) {
        const bool exempt =
            p.name.find("bias") != std::string::npos || p.name.find("LayerNorm.weight") != std::string::npos;
        CHECK(p.decay == !exempt);
        decayed += p.decay;
    }
    CHECK(opt.params().size() == m->parameters().size());
    // 3 embeddings, 6 linear weights (q, k, v, o, intermediate, output), pooler and classifier
    CHECK(decayed == 3 + 6 + 2);
}

TEST_CASE("training: the fused AdamW with clipping matches LibTorch's AdamW after clip_grad_norm_") {
    auto a = small_bert(7), b = small_bert(7);
    a->eval();  // no dropout: the two models see identical gradients
    b->eval();
    train::AdamW fused(a, {1e-2, 0.05, 1e-8});
    std::vector<at::Tensor> decay, no_decay, all;
    for (auto& p : b->named_parameters()) {
        const bool exempt =
            p.key().find("bias") != std::string::npos || p.key().find("LayerNorm.weight") != std::string::npos;
        (exempt ? no_decay : decay).push_back(p.value());
        all.push_back(p.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(
        decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-2).weight_decay(0.05)));
    groups.emplace_back(
        no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(1e-2).weight_decay(0.0)));
    torch::optim::AdamW reference(std::move(groups));
    for (int step = 0; step < 3; ++step) {
        fused.zero_grad();
        backward_once(a);
        const double norm = fused.step(0.01);  // small enough that clipping happens
        reference.zero_grad();
        backward_once(b);
        const double ref_norm = torch::nn::utils::clip_grad_norm_(all, 0.01);
        reference.step();
        CHECK(norm == doctest::Approx(ref_norm).epsilon(1e-5));
        CHECK(norm > 0.01);
    }
    auto pa = a->named_parameters(), pb = b->named_parameters();
    for (auto& p : pa) {
        CAPTURE(p.key());
        CAPTURE((p.value() - pb[p.key()]).abs().max().item<double>());
        CHECK(at::allclose(p.value(), pb[p.key()], 1e-5, 1e-5));  // float rounding, updates are ~1e-2
    }
    CHECK(fused.steps() == 3);
}

TEST_CASE("training: a tiny BERT learns the synthetic task") {
    CAP_TEST_DEVICE(device);
    settings::TaskConfig config;
    config.name = "synthetic";
    config.max_train_examples = 1500;
    config.max_eval_examples = 400;
    auto task = data::make_task(config, nullptr);
    at::manual_seed(3);
    hf::BertConfig c;
    c.hidden_size = 64;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 128;
    c.labels = task->labels();
    model::Bert m(c, model::TaskHead::kClassification);
    const fs::path dir = cap::test::scratch_dir("learn_synthetic");
    train::MetricsLog log(dir / "metrics.jsonl");
    train::StageContext ctx(*task, m, log);
    ctx.device = device;
    ctx.checkpoint_dir = dir / "checkpoints";
    ctx.stage = "finetune";
    ctx.seed = 3;
    settings::FineTuneSettings s;
    s.epochs = 5;
    s.learning_rate = 1e-3;
    s.warmup_ratio = 0.1;
    auto metrics = train::fine_tune(ctx, s);
    CHECK(metrics["accuracy"].get<double>() > 75.0);  // chance is 50%
    CHECK(fs::exists(dir / "checkpoints" / "finetune-e0005" / "optimizer.safetensors"));
    CHECK_FALSE(fs::exists(dir / "checkpoints" / "finetune-e0004"));  // keep_checkpoints = 1
    int evals = 0;
    std::istringstream lines(cap::test::read_text(dir / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) evals += nlohmann::json::parse(line)["event"] == "eval";
    CHECK(evals == 5);
}

namespace {

std::string resume_recipe(const fs::path& dir) {
    return cap::test::write_text(dir / "resume.toml", R"(
[run]
name = "resume"
seed = 5
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 1200
max_eval_examples = 200
[finetune]
epochs = 4
batch_size = 16
learning_rate = 5e-4
log_every = 1000
)")
        .string();
}

std::string teacher_bytes(const fs::path& run) { return cap::test::read_text(run / "teacher" / "model.safetensors"); }

}  // namespace

TEST_CASE("training: a killed run resumes to exactly the weights of an uninterrupted one") {
    const fs::path dir = cap::test::scratch_dir("resume");
    const std::string recipe = resume_recipe(dir);
    auto whole = cap::test::run_cap("run " + recipe + " --out " + (dir / "whole").string());
    REQUIRE(whole.exit_code == 0);

    // Start the same run, kill it (SIGKILL: no chance to clean up) once its first epoch is
    // checkpointed, then resume.
    const fs::path killed = dir / "killed";
    const std::string command = std::string("OMP_WAIT_POLICY=passive ") + cap::test::kCapExe + " run " + recipe +
                                " --out " + killed.string() + " > " + (dir / "killed.log").string() + " 2>&1 & echo $!";
    auto started = cap::test::run_command(command);
    const std::string pid = started.output.substr(0, started.output.find('\n'));
    bool checkpointed = false;
    for (int i = 0; i < 6000 && !checkpointed; ++i) {
        checkpointed = fs::exists(killed / "checkpoints" / "finetune-e0001" / "state.json");
        if (!checkpointed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(checkpointed);
    cap::test::run_command("kill -9 " + pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    REQUIRE_FALSE(fs::exists(killed / "teacher"));  // it really stopped before the end

    auto resumed = cap::test::run_cap("run --resume " + killed.string());
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(resumed.output.find("resuming after epoch") != std::string::npos);
    CHECK(teacher_bytes(killed) == teacher_bytes(dir / "whole"));

    // metrics.jsonl holds each epoch's evaluation once.
    int evals = 0;
    std::istringstream lines(cap::test::read_text(killed / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) evals += nlohmann::json::parse(line)["event"] == "eval";
    CHECK(evals == 4);
    CHECK(cap::test::run_cap("run --resume " + (dir / "nowhere").string()).exit_code == 2);
}
