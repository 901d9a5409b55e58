// Both benchmarks interleave the two sides in every iteration and report the ratio of the
// totals and of the fastest run of each side (this machine is shared: the fastest runs are the
// least disturbed).
//
// The cost of CAP-f's training step over plain fine-tuning, and of a dense model over the
// compacted one (issue 4's targets), at the base shape (L12/H768/A12/I3072), batch 32,
// sequence 128.
//
//  cap_step_vs_ce: in every iteration, one cross-entropy-only step, then one CAP-f step:
//    0.1 CE + KD (teacher logits precomputed, as the host does) + PrC, SnC (2 snapshots) and
//    FiC, 4096 extra negatives each, loaded from their plugin libraries; masks on heads and
//    FFN. Ratio cap/ce: target <= 1.1 (PyTorch eager from Python: 1.47).
//  movement_step_vs_ce: in every iteration, one cross-entropy-only step, then one movement-
//    pruning step (CAP-m's unstructured part): the movement plugin binarizes a score per
//    encoder weight (top-k 10% per matrix, a selection, not a sort), the forward pass runs
//    W * M with the straight-through path to the scores, and AdamW also updates the 85M
//    scores. Ratio movement/ce: target <= 1.25 (PyTorch eager from Python: 1.97, of which a
//    full sort for top-k takes 10.5 s of a 46 s step).
//  compacted_vs_dense: inference (eval, no gradients) of the dense model, then of the model
//    compacted after pruning 50% of the heads and 50% of the FFN neurons. Ratio dense/compact:
//    target >= 1.9 (the limit is about 2; PyTorch eager: 1.78).
//
//  importance_pass: CAP-f's first-order importance pass, forward and backward to the head and
//    FFN masks (parameters frozen), in examples per second.
//
// --device=cuda runs them on the GPU (bench/gpu/check.sh), --precision=bfloat16 (or float16 on
// CUDA) under autocast, as `precision` in a recipe's [backend] does.
//
//   build/bin/cap_bench_cap [--device=cpu|cuda] [--precision=float32|bfloat16|float16] [--shape=base|tiny]
//                           [--benchmark_filter=compacted] [--benchmark_format=json]
#include <ATen/ATen.h>
#include <ATen/DLConvertor.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <benchmark/benchmark.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "cap/plugin_torch.hpp"
#include "model/compaction.hpp"
#include "plugin/registry.hpp"
#include "prune/objective.hpp"
#include "prune/score_masks.hpp"
#include "system/process_tuning.hpp"
#include "train/adamw.hpp"

#ifndef CAP_BENCH_PLUGIN_DIR
#error "CAP_BENCH_PLUGIN_DIR must name the built plugins' folder"
#endif

namespace {

using clock_type = std::chrono::steady_clock;
constexpr int64_t kBatch = 32, kLength = 128, kBankRows = 16384;

// Where and in what precision the steps run (--device, --precision).
at::Device g_device = at::kCPU;
at::ScalarType g_compute = at::kFloat;

// GPU work is queued: a step is timed only once the device has finished it.
void sync() {
    if (g_device.is_cuda()) at::detail::getCUDAHooks().deviceSynchronize(g_device.has_index() ? g_device.index() : 0);
}

cap_exec_context exec_context() {
    const int32_t index = g_device.has_index() ? g_device.index() : 0;
    return {sizeof(cap_exec_context),
            {g_device.is_cuda() ? kDLCUDA : kDLCPU, index},
            nullptr,
            g_device.is_cuda() ? 0 : at::get_num_threads()};
}

cap::hf::BertConfig base_config();

// Head and FFN masks that keep everything, on the device.
cap::model::ForwardOptions all_kept(bool requires_grad) {
    const auto c = base_config();
    const auto options = at::TensorOptions().device(g_device);
    cap::model::ForwardOptions f;
    f.head_mask = at::ones({c.num_hidden_layers, c.num_attention_heads}, options).requires_grad_(requires_grad);
    f.ffn_mask = at::ones({c.num_hidden_layers, c.intermediate_size}, options).requires_grad_(requires_grad);
    return f;
}

cap::model::Bert on_device(cap::model::Bert m) {
    m->to(g_device);
    m->set_compute_dtype(g_compute);
    return m;
}

double since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

bool g_tiny = false;  // --shape=tiny: L2/H128/A2/I512, for a quick run of the whole check on a CPU

cap::hf::BertConfig base_config() {
    cap::hf::BertConfig c;
    c.num_hidden_layers = g_tiny ? 2 : 12;
    c.hidden_size = g_tiny ? 128 : 768;
    c.num_attention_heads = g_tiny ? 2 : 12;
    c.intermediate_size = g_tiny ? 512 : 3072;
    c.labels = {"negative", "positive"};
    return c;
}

void set_threads() { at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))); }

// A training set of kBatch random examples whose indices point into banks of kBankRows rows.
class RandomTask : public cap::data::Task {
public:
    std::string name() const override { return "random"; }
    cap::model::TaskHead head() const override { return cap::model::TaskHead::kClassification; }
    std::vector<std::string> labels() const override { return {"negative", "positive"}; }
    size_t train_size() const override { return kBankRows; }
    cap::data::Batch train_batch(const std::vector<int64_t>&) const override { throw std::logic_error("unused"); }
    cap::data::EvalResult evaluate(cap::model::Bert&, const cap::data::EvalOptions&) const override { return {}; }
    std::string main_metric() const override { return "accuracy"; }
};

cap::data::Batch random_batch() {
    cap::data::Batch b;
    at::Tensor ids = at::randint(1000, 2000, {kBatch, kLength}, at::kLong);
    b.inputs = {ids, at::zeros_like(ids), at::ones_like(ids)};
    b.labels = at::randint(0, 2, {kBatch}, at::kLong);
    b.indices = at::randperm(kBankRows, at::kLong).slice(0, 0, kBatch);
    b.examples = kBatch;
    b.tokens = kBatch * kLength;
    return b.to(g_device);
}

// Runs `a` then `b` in every iteration; the totals and the fastest run of each.
struct Paired {
    double a_total = 0, b_total = 0, a_min = 1e30, b_min = 1e30;
};
template <class A, class B>
Paired interleave(benchmark::State& state, A&& a, B&& b) {
    Paired p;
    for (auto _ : state) {
        auto t0 = clock_type::now();
        a();
        sync();
        const double ta = since(t0);
        auto t1 = clock_type::now();
        b();
        sync();
        const double tb = since(t1);
        p.a_total += ta;
        p.b_total += tb;
        p.a_min = std::min(p.a_min, ta);
        p.b_min = std::min(p.b_min, tb);
    }
    return p;
}

at::Tensor unit_rows(int64_t n, int64_t h) {
    at::Tensor t = at::randn({n, h}, at::TensorOptions().device(g_device));
    return t / t.norm(2, 1, true);
}

void cap_step_vs_ce(benchmark::State& state) {
    set_threads();
    at::manual_seed(0);
    auto model = on_device(cap::model::Bert(base_config(), cap::model::TaskHead::kClassification));
    model->train();
    cap::train::AdamW optimizer(model, {2e-5, 0.01, 1e-8});
    RandomTask task;
    cap::data::Batch batch = random_batch();
    const cap_exec_context ctx = exec_context();

    auto registry = cap::host::PluginRegistry::discover({CAP_BENCH_PLUGIN_DIR});
    auto make = [&](cap_plugin_kind kind, const char* name) {
        auto library = registry.find(kind, name);
        if (!library) throw std::runtime_error(std::string("plugin not built: ") + name);
        return std::make_unique<cap::host::PluginInstance>(library, cap::host::defaults_of(library->options()));
    };
    cap::host::DistillPlugin kd(make(CAP_KIND_DISTILL, "kd"));
    std::vector<cap::prune::ContrastiveModule> modules;
    at::Tensor bank_labels = at::randint(0, 2, {kBankRows}, at::TensorOptions().dtype(at::kLong).device(g_device));
    DLTensor label_view = cap::to_dl(bank_labels);
    for (auto [name, source, slices] :
         {std::tuple{"prc", CAP_CAPTURE_PRETRAINED, 1}, std::tuple{"snc", CAP_CAPTURE_SNAPSHOT, 2},
          std::tuple{"fic", CAP_CAPTURE_FINETUNED, 1}}) {
        cap::prune::ContrastiveModule m;
        m.name = name;
        m.plugin = std::make_unique<cap::host::ContrastivePlugin>(make(CAP_KIND_CONTRASTIVE, name));
        for (int s = 0; s < slices; ++s) {
            cap_bank bank{};
            bank.struct_size = sizeof(bank);
            bank.source = source;
            bank.representations = at::toDLPack(unit_rows(kBankRows, base_config().hidden_size));
            bank.labels = &label_view;
            m.plugin->receive_bank(ctx, bank);
            ++m.banks;
        }
        modules.push_back(std::move(m));
    }
    cap::prune::TrainingSetEncoding teacher;
    teacher.logits = at::randn({kBankRows, 2}, at::TensorOptions().device(g_device));
    cap::prune::Objective objective(task, 0.1, cap::model::Pooling::kCls, &kd, modules, &teacher, ctx);
    const cap::model::ForwardOptions masks = all_kept(false);
    cap_progress progress{};
    progress.struct_size = sizeof(progress);

    auto ce_step = [&] {
        optimizer.zero_grad();
        at::cross_entropy_loss(model->forward(batch.inputs).logits, batch.labels).backward();
        optimizer.step(1.0);
    };
    double contrastive_seconds = 0;
    auto cap_step = [&] {
        optimizer.zero_grad();
        auto loss = objective.compute(model, batch, masks, progress);
        loss.loss.backward();
        optimizer.step(1.0);
        ++progress.step;
    };
    ce_step();  // warm-up
    cap_step();
    sync();
    const Paired pair = interleave(state, ce_step, cap_step);
    const double ce_seconds = pair.a_total, cap_seconds = pair.b_total, ce_min = pair.a_min, cap_min = pair.b_min;
    // The contrastive losses alone, on anchors of the batch's shape.
    at::Tensor anchors = unit_rows(kBatch, base_config().hidden_size), grad = at::empty_like(anchors);
    DLTensor a = cap::to_dl(anchors), i = cap::to_dl(batch.indices), l = cap::to_dl(batch.labels), g = cap::to_dl(grad);
    cap_contrastive_batch cb{sizeof(cb), &a, &i, &l, &progress};
    auto t = clock_type::now();
    for (const auto& m : modules) m.plugin->loss(ctx, cb, &g);
    sync();
    contrastive_seconds = since(t);
    const double n = static_cast<double>(state.iterations());
    state.counters["ce_step_s"] = ce_seconds / n;
    state.counters["cap_step_s"] = cap_seconds / n;
    state.counters["cap/ce"] = cap_seconds / ce_seconds;
    state.counters["cap/ce_fastest"] = cap_min / ce_min;  // the least disturbed pair of runs
    state.counters["contrastive_losses_s"] = contrastive_seconds;
    uint64_t bank_bytes = 0;
    for (const auto& m : modules) bank_bytes += m.plugin->memory();
    state.counters["bank_MiB"] = double(bank_bytes) / (1024.0 * 1024.0);
}

void movement_step_vs_ce(benchmark::State& state) {
    set_threads();
    at::manual_seed(0);
    auto model = on_device(cap::model::Bert(base_config(), cap::model::TaskHead::kClassification));
    model->train();
    cap::data::Batch batch = random_batch();
    const cap_exec_context ctx = exec_context();
    auto registry = cap::host::PluginRegistry::discover({CAP_BENCH_PLUGIN_DIR});
    auto library = registry.find(CAP_KIND_CRITERION, "movement");
    if (!library) throw std::runtime_error("plugin not built: movement");
    cap::host::CriterionPlugin criterion(
        std::make_unique<cap::host::PluginInstance>(library, cap::host::defaults_of(library->options())));
    cap::prune::ScoreMasks masks(model, criterion, ctx);
    cap::train::AdamW optimizer(model, {3e-5, 0.0, 1e-8});
    optimizer.add_group("mask_scores", masks.scores(), 1e-2 / 3e-5);
    cap::model::ForwardOptions forward;
    forward.weights = masks.transform();
    cap_schedule_point point{};
    point.struct_size = sizeof(point);
    point.target_kind = CAP_TARGET_THRESHOLD;
    point.target = point.final_target = 0.10;
    cap_progress progress{};
    progress.struct_size = sizeof(progress);

    auto ce_step = [&] {
        optimizer.zero_grad();
        at::cross_entropy_loss(model->forward(batch.inputs).logits, batch.labels).backward();
        optimizer.step(1.0);
    };
    double binarize_seconds = 0;
    auto movement_step = [&] {
        optimizer.zero_grad();
        auto t = clock_type::now();
        masks.binarize(point, progress);
        binarize_seconds += since(t);
        at::cross_entropy_loss(model->forward(batch.inputs, forward).logits, batch.labels).backward();
        masks.finish_gradients(point, progress);
        optimizer.step(1.0);
        ++progress.step;
    };
    ce_step();  // warm-up
    movement_step();
    sync();
    binarize_seconds = 0;
    const Paired pair = interleave(state, ce_step, movement_step);
    const double ce_seconds = pair.a_total, mv_seconds = pair.b_total, ce_min = pair.a_min, mv_min = pair.b_min;
    const double n = static_cast<double>(state.iterations());
    state.counters["ce_step_s"] = ce_seconds / n;
    state.counters["movement_step_s"] = mv_seconds / n;
    state.counters["binarize_s"] = binarize_seconds / n;
    state.counters["movement/ce"] = mv_seconds / ce_seconds;
    state.counters["movement/ce_fastest"] = mv_min / ce_min;
    state.counters["kept"] = masks.masks().kept_fraction();
}

void compacted_vs_dense(benchmark::State& state) {
    set_threads();
    at::manual_seed(0);
    cap::model::Bert dense(base_config(), cap::model::TaskHead::kClassification);
    dense->eval();
    // Half the heads and half the FFN neurons of every layer, chosen at random.
    const auto c = base_config();
    const int64_t L = c.num_hidden_layers, A = c.num_attention_heads, I = c.intermediate_size;
    at::Tensor heads = at::zeros({L, A}), ffn = at::zeros({L, I});
    for (int64_t l = 0; l < L; ++l) {
        heads[l].index_fill_(0, at::randperm(A, at::kLong).slice(0, 0, A / 2), 1.0);
        ffn[l].index_fill_(0, at::randperm(I, at::kLong).slice(0, 0, I / 2), 1.0);
    }
    cap::model::Bert compact = on_device(cap::model::compact(dense, heads, ffn));
    dense = on_device(dense);
    cap::data::Batch batch = random_batch();
    torch::NoGradGuard no_grad;
    auto run = [&](cap::model::Bert& m) { benchmark::DoNotOptimize(m->forward(batch.inputs).logits); };
    run(dense);  // warm-up
    run(compact);
    sync();
    const Paired pair = interleave(
        state, [&] { run(dense); }, [&] { run(compact); });
    const double dense_seconds = pair.a_total, compact_seconds = pair.b_total, dense_min = pair.a_min,
                 compact_min = pair.b_min;
    const double n = static_cast<double>(state.iterations());
    state.counters["dense_s"] = dense_seconds / n;
    state.counters["compact_s"] = compact_seconds / n;
    state.counters["dense/compact"] = dense_seconds / compact_seconds;
    state.counters["dense/compact_fastest"] = dense_min / compact_min;
}

void importance_pass(benchmark::State& state) {
    set_threads();
    at::manual_seed(0);
    auto model = on_device(cap::model::Bert(base_config(), cap::model::TaskHead::kClassification));
    model->eval();  // as the host's importance pass: no dropout
    for (auto& p : model->parameters()) p.set_requires_grad(false);
    cap::data::Batch batch = random_batch();
    const cap::model::ForwardOptions masks = all_kept(true);
    auto pass = [&] { at::cross_entropy_loss(model->forward(batch.inputs, masks).logits, batch.labels).backward(); };
    pass();  // warm-up
    sync();
    double total = 0;
    for (auto _ : state) {
        auto t = clock_type::now();
        pass();
        sync();
        total += since(t);
    }
    state.counters["pass_s"] = total / static_cast<double>(state.iterations());
    state.counters["examples_per_s"] = kBatch * static_cast<double>(state.iterations()) / total;
}

// Takes --device= and --precision= out of argv before Google Benchmark sees it.
bool parse_own_flags(int& argc, char** argv) {
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        if (std::strncmp(a, "--device=", 9) == 0) {
            g_device = at::Device(a + 9);
        } else if (std::strcmp(a, "--shape=tiny") == 0 || std::strcmp(a, "--shape=base") == 0) {
            g_tiny = std::strcmp(a, "--shape=tiny") == 0;
        } else if (std::strncmp(a, "--precision=", 12) == 0) {
            const std::string p = a + 12;
            if (p == "float32")
                g_compute = at::kFloat;
            else if (p == "bfloat16")
                g_compute = at::kBFloat16;
            else if (p == "float16")
                g_compute = at::kHalf;
            else {
                std::fprintf(stderr, "--precision: float32, bfloat16 or float16, not %s\n", p.c_str());
                return false;
            }
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    if (g_device.is_cuda() && !at::hasCUDA()) {
        std::fprintf(stderr, "--device=cuda: this LibTorch has no CUDA or sees no GPU\n");
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    cap::sys::ensure_passive_openmp(argv);
    cap::sys::keep_freed_memory();
    if (!parse_own_flags(argc, argv)) return 2;
    // A GPU step takes milliseconds: more of them for stable figures.
    const int steps = g_device.is_cuda() ? 20 : 3, inferences = g_device.is_cuda() ? 50 : 8;
    const char* shape = g_tiny ? "tiny" : "base";
    benchmark::RegisterBenchmark((std::string("cap_step_vs_ce/") + shape).c_str(), cap_step_vs_ce)
        ->Iterations(steps)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("movement_step_vs_ce/") + shape).c_str(), movement_step_vs_ce)
        ->Iterations(steps)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("compacted_vs_dense/") + shape).c_str(), compacted_vs_dense)
        ->Iterations(inferences)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("importance_pass/") + shape).c_str(), importance_pass)
        ->Iterations(steps)
        ->Unit(benchmark::kSecond)
        ->UseRealTime();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
