// Mixed precision: bfloat16 autocast on the CPU (the forward passes; outputs back in float32),
// float16's dynamic loss scaling, and the precision a run states in its manifest.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <numeric>

#include "data/task.hpp"
#include "model/autocast.hpp"
#include "model/checkpoint.hpp"
#include "support/process.hpp"
#include "support/shared_data.hpp"
#include "support/test_device.hpp"
#include "test_paths.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "train/adamw.hpp"
#include "train/fine_tune.hpp"
#include "train/loss_scaler.hpp"

namespace fs = std::filesystem;
using namespace cap;

namespace {

// The task's first `n` training rows as one batch on `device`.
data::Batch first_rows(const data::Task& task, int64_t n, const c10::Device& device) {
    std::vector<int64_t> rows(static_cast<size_t>(n));
    std::iota(rows.begin(), rows.end(), 0);
    return task.train_batch(rows).to(device);
}

}  // namespace

TEST_CASE("precision: bfloat16 autocast keeps bert-tiny-sst2's logits and SST-2 dev accuracy") {
    CAP_TEST_DEVICE(device);
    auto models = cap::test::models_dir();
    auto data = cap::test::data_dir();
    CAP_REQUIRE_SHARED(models, "shared models");
    CAP_REQUIRE_SHARED(data, "shared data");
    const fs::path folder = *models / "bert-tiny-sst2";
    text::WordPieceTokenizer tokenizer(text::Vocabulary::load(folder / "vocab.txt"));
    settings::TaskConfig config;
    config.name = "sst2";
    config.data = *data / "glue" / "SST-2";
    config.max_train_examples = 256;
    auto task = data::make_task(config, &tokenizer);
    auto model = model::load_pretrained(folder, task->head(), task->labels()).model;
    model->eval();
    model->to(device);

    const data::Batch batch = first_rows(*task, 256, device);
    at::NoGradGuard no_grad;
    const at::Tensor full = model->forward(batch.inputs).logits;
    model->set_compute_dtype(at::kBFloat16);
    const at::Tensor half = model->forward(batch.inputs).logits;
    CHECK((half.scalar_type() == at::kFloat));  // outputs come back in float32
    // bfloat16 keeps 8 significant bits (relative error 2^-9 per product); through two layers the
    // logits (|x| up to ~4) move by about 0.01 (0.009 measured with LibTorch 1.13).
    const double max_diff = (half - full).abs().max().item<double>();
    CAPTURE(max_diff);
    CHECK(max_diff < 0.05);
    CHECK(max_diff > 0.0);  // autocast did change the arithmetic
    const double agree = (half.argmax(1) == full.argmax(1)).to(at::kFloat).mean().item<double>();
    CHECK(agree > 0.98);

    data::EvalOptions eval;
    eval.device = device;
    model->set_compute_dtype(at::kFloat);
    const double accuracy32 = task->evaluate(model, eval).metrics["accuracy"].get<double>();
    model->set_compute_dtype(at::kBFloat16);
    const double accuracy16 = task->evaluate(model, eval).metrics["accuracy"].get<double>();
    CAPTURE(accuracy32);
    CAPTURE(accuracy16);
    CHECK(std::abs(accuracy16 - accuracy32) <= 0.5);
}

namespace {

model::Bert synthetic_bert(const data::Task& task, uint64_t seed) {
    at::manual_seed(seed);
    hf::BertConfig c;
    c.hidden_size = 32;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 64;
    c.labels = task.labels();
    return model::Bert(c, model::TaskHead::kClassification);
}

std::unique_ptr<data::Task> synthetic_task(size_t examples) {
    settings::TaskConfig config;
    config.name = "synthetic";
    config.max_train_examples = examples;
    config.max_eval_examples = 64;
    return data::make_task(config, nullptr);
}

}  // namespace

TEST_CASE("precision: training steps under bfloat16 autocast lower the loss") {
    CAP_TEST_DEVICE(device);
    auto task = synthetic_task(64);
    auto m = synthetic_bert(*task, 4);
    m->to(device);
    m->set_compute_dtype(at::kBFloat16);
    m->eval();  // no dropout: the loss moves only by the updates
    train::AdamW optimizer(m, {1e-2, 0.0, 1e-8});
    const data::Batch batch = first_rows(*task, 64, device);
    std::vector<double> losses;
    for (int step = 0; step < 10; ++step) {
        optimizer.zero_grad();
        at::Tensor loss = train::task_loss(*task, m->forward(batch.inputs), batch);
        CHECK((loss.scalar_type() == at::kFloat));
        loss.backward();
        optimizer.step(1.0);
        losses.push_back(loss.item<double>());
    }
    CAPTURE(losses);
    CHECK(losses.back() < losses.front() - 0.05);
    for (const auto& p : m->parameters()) CHECK((p.scalar_type() == at::kFloat));  // master weights stay float32
}

TEST_CASE("precision: float16 autocast needs CUDA and the CPU refuses it with the reason") {
    CHECK(model::autocast_unsupported(at::kCPU, at::kBFloat16).empty());
    CHECK(model::autocast_unsupported(at::kCUDA, at::kHalf).empty());
    CHECK(model::autocast_unsupported(at::kCPU, at::kHalf) == "float16 autocast needs CUDA; on the CPU use bfloat16");
    CHECK_THROWS_WITH_AS(model::AutocastScope(at::kCPU, at::kHalf),
                         "float16 autocast needs CUDA; on the CPU use bfloat16", std::invalid_argument);
    {
        model::AutocastScope scope(at::kCPU, at::kBFloat16);
        CHECK((at::matmul(at::ones({2, 2}), at::ones({2, 2})).scalar_type() == at::kBFloat16));
    }
    CHECK((at::matmul(at::ones({2, 2}), at::ones({2, 2})).scalar_type() == at::kFloat));  // restored on exit
}

TEST_CASE("precision: float16 autocast with loss scaling lowers the loss on CUDA") {
    CAP_TEST_DEVICE(device);
    if (!device.is_cuda()) {
        MESSAGE("SKIP: float16 autocast needs CUDA (CAP_TEST_BACKEND=cuda on a GPU)");
        return;
    }
    auto task = synthetic_task(64);
    auto m = synthetic_bert(*task, 4);
    m->to(device);
    m->set_compute_dtype(at::kHalf);
    m->eval();
    train::AdamW optimizer(m, {1e-2, 0.0, 1e-8});
    std::vector<at::Tensor> trained;
    for (const auto& p : optimizer.params()) trained.push_back(p.value);
    train::LossScaler scaler;
    const data::Batch batch = first_rows(*task, 64, device);
    std::vector<double> losses;
    for (int step = 0; step < 10; ++step) {
        optimizer.zero_grad();
        at::Tensor loss = train::task_loss(*task, m->forward(batch.inputs), batch);
        scaler.scale(loss).backward();
        const bool finite = scaler.unscale(trained);
        scaler.update(finite);
        if (finite) optimizer.step(1.0);
        losses.push_back(loss.item<double>());
    }
    CAPTURE(losses);
    CHECK(losses.back() < losses.front() - 0.05);
    CHECK(scaler.state().skipped_steps <= 2);
}

TEST_CASE("precision: the loss scaler skips a step with inf gradients, backs off, and grows again") {
    at::Tensor w = at::ones({3}).requires_grad_(true);
    train::LossScaler scaler({1024.0, 0, 0}, {2.0, 0.5, 2});
    (scaler.scale(w.sum() * 3)).backward();
    CHECK(scaler.unscale({w}));
    CHECK(at::allclose(w.grad(), at::full({3}, 3.0)));  // divided back by the scale
    scaler.update(true);
    CHECK(scaler.state().scale == 1024.0);

    w.mutable_grad().zero_();
    (scaler.scale(w.sum() * std::numeric_limits<float>::infinity())).backward();
    CHECK_FALSE(scaler.unscale({w}));
    scaler.update(false);
    CHECK(scaler.state().scale == 512.0);
    CHECK(scaler.state().skipped_steps == 1);
    CHECK(scaler.state().clean_steps == 0);

    for (int i = 0; i < 2; ++i) {
        w.mutable_grad().zero_();
        (scaler.scale(w.sum())).backward();
        CHECK(scaler.unscale({w}));
        scaler.update(true);
    }
    CHECK(scaler.state().scale == 1024.0);  // two clean steps: the growth interval
}

TEST_CASE("precision: with loss scaling, a step whose gradients overflow is skipped and training goes on") {
    CAP_TEST_DEVICE(device);
    auto task = synthetic_task(96);
    auto m = synthetic_bert(*task, 6);
    m->to(device);
    const fs::path dir = cap::test::scratch_dir("precision_skipped_step");
    train::MetricsLog log(dir / "metrics.jsonl");
    train::StageContext ctx(*task, m, log);
    ctx.device = device;
    ctx.stage = "finetune";
    ctx.checkpoints = false;
    ctx.loss_scaling = true;
    at::Tensor before_bad_step;
    at::Tensor after_bad_step;
    const at::Tensor probe = m->classifier->weight;
    ctx.step_loss = [&](const data::Batch& batch, int64_t step) {
        train::StepLoss l;
        l.loss = train::task_loss(*task, m->forward(batch.inputs), batch);
        l.value = l.loss.item<double>();
        if (step == 2) {  // an overflow, as float16 gradients produce
            before_bad_step = probe.detach().clone();
            l.loss = l.loss * std::numeric_limits<float>::infinity();
        }
        if (step == 3) after_bad_step = probe.detach().clone();
        return l;
    };
    settings::FineTuneSettings s;
    s.epochs = 1;
    s.batch_size = 16;
    s.learning_rate = 1e-3;
    s.log_every = 3;
    train::fine_tune(ctx, s);
    REQUIRE(before_bad_step.defined());
    REQUIRE(after_bad_step.defined());
    CHECK(at::equal(before_bad_step, after_bad_step));  // the overflowing step changed nothing
    CHECK_FALSE(at::equal(after_bad_step, probe));      // the steps after it trained
    CHECK(at::isfinite(probe).all().item<bool>());

    std::vector<nlohmann::json> train_events;
    std::istringstream lines(cap::test::read_text(dir / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);)
        if (auto e = nlohmann::json::parse(line); e["event"] == "train") train_events.push_back(e);
    REQUIRE(train_events.size() == 2);                // steps 1-3 and 4-6
    CHECK(train_events[0]["skipped_steps"] == 1);     // counted in metrics.jsonl
    CHECK(train_events[0]["loss_scale"] == 32768.0);  // halved from 2^16
    CHECK(train_events[1]["skipped_steps"] == 0);
}

TEST_CASE("precision: a bfloat16 run on the cpu backend states its precision in the manifest") {
    const fs::path dir = cap::test::scratch_dir("precision_manifest");
    const std::string recipe = cap::test::write_text(dir / "bf16.toml", R"(
[run]
name = "bf16"
seed = 3
[backend]
plugin = "cpu"
precision = "bfloat16"
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 64
max_eval_examples = 32
[finetune]
epochs = 1
batch_size = 16
)");
    auto r =
        cap::test::run_command(std::string(cap::test::kCapExe) + " run " + recipe + " --out " + (dir / "run").string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    auto manifest = nlohmann::json::parse(cap::test::read_text(dir / "run" / "manifest.json"));
    const auto& p = manifest["backend"]["precision"];
    CHECK(p["forward"] == "autocast to bfloat16");
    CHECK(p["master_weights"] == "float32");
    CHECK(p["optimizer_state"] == "float32");
    CHECK(p["contrastive_banks"] == "float32");
    CHECK(p["loss_scaling"] == "none");

    // float16 on the CPU is refused before anything runs, naming the option's reason.
    const std::string f16 = cap::test::write_text(dir / "f16.toml", R"(
[run]
name = "f16"
[backend]
plugin = "cpu"
precision = "float16"
[model]
pretrained = "builtin:bert-tiny"
)");
    auto refused =
        cap::test::run_command(std::string(cap::test::kCapExe) + " run " + f16 + " --out " + (dir / "f16").string());
    CHECK(refused.exit_code != 0);
    CHECK(refused.output.find("precision") != std::string::npos);
    CHECK(refused.output.find("float16") != std::string::npos);
}
