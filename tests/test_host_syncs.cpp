// How often a training step makes the host wait for the device. On a GPU each scalar read back
// (`.item()`), data-dependent shape (nonzero, masked_select) or device-to-host copy stalls the CPU
// until the queued kernels finish; a step should need a handful, whatever the model's depth. The
// cap binary counts them with CAP_COUNT_HOST_SYNCS=1 (an ATen observer) and logs the mean per step.
//
// On the CPU the observer sees every `.item()` and data-dependent op but no copy (`.to(kCPU)` of
// a CPU tensor copies nothing), so the CPU budgets are the scalar reads. With CAP_TEST_BACKEND=cuda
// (bench/gpu/check.sh) the runs are on the GPU and the copies count too.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "support/process.hpp"
#include "support/test_device.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

fs::path recipe(const fs::path& dir, const std::string& name, const std::string& backend, const std::string& pruning) {
    return cap::test::write_text(dir / (name + ".toml"), R"(
[run]
name = ")" + name + R"("
[backend]
plugin = ")" + backend + R"("
[model]
pretrained = "builtin:bert-tiny"
[task]
name = "synthetic"
max_train_examples = 160
max_eval_examples = 32
[finetune]
epochs = 1
batch_size = 32
log_every = 1
)" + pruning);
}

const char* kContrastive = R"(
[contrastive.prc]
extra_negatives = 32
[contrastive.snc]
extra_negatives = 32
[contrastive.fic]
extra_negatives = 32
[distill]
plugin = "kd"
[prune]
batch_size = 32
log_every = 1
)";

struct Counts {
    std::vector<double> finetune, pruning;
};

Counts run_counted(const fs::path& dir, const fs::path& toml, bool counting) {
    const fs::path out = dir / (toml.stem().string() + (counting ? "-counted" : "-plain"));
    auto result = cap::test::run_command(std::string(counting ? "CAP_COUNT_HOST_SYNCS=1 " : "") + cap::test::kCapExe +
                                         " run " + toml.string() + " --out " + out.string());
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    Counts c;
    std::istringstream lines(cap::test::read_text(out / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) {
        auto e = nlohmann::json::parse(line);
        if (e["event"] != "train") continue;
        CHECK(e.contains("host_syncs_per_step") == counting);
        if (!counting) continue;
        (e["stage"] == "finetune" ? c.finetune : c.pruning).push_back(e["host_syncs_per_step"].get<double>());
    }
    return c;
}

}  // namespace

TEST_CASE("host syncs: a step reads back its logged values only, not one per layer or matrix") {
    CAP_TEST_DEVICE(device);
    const std::string backend = device.is_cuda() ? "cuda" : "cpu";
    // On a GPU a pruning step also copies back AdamW's gradient norm and, per contrastive module,
    // the batch's indices and the two term values.
    const double copies = device.is_cuda() ? 1 + 3 * 2 : 0;
    const fs::path dir = cap::test::scratch_dir("host-syncs");
    struct Kind {
        const char* name;
        std::string pruning;
        double budget;  // reads per pruning step on the CPU: each is a value metrics.jsonl logs
    };
    const Kind kinds[] = {
        // CE and the distillation term (the contrastive terms come back as one copy each).
        {"capf",
         "[criterion]\nplugin = \"first_order\"\n[schedule]\nplugin = \"iterative\"\npercents = [25, 50]\n"
         "retrain_epochs = 1.0\n" +
             std::string(kContrastive),
         2},
        {"movement",
         "[criterion]\nplugin = \"movement\"\n[schedule]\nplugin = \"cubic\"\nfinal_threshold = 0.1\n"
         "warmup_steps = 2\ninitial_warmup = 1\nfinal_warmup = 1\n" +
             std::string(kContrastive) + "epochs = 3\n",
         2},
        // ... and the L1 penalty on sigmoid(scores), summed over the 12 matrices on the device.
        {"soft",
         "[criterion]\nplugin = \"soft_movement\"\nfinal_lambda = 10.0\n[schedule]\nplugin = \"cubic\"\n"
         "final_threshold = 0.1\nwarmup_steps = 2\ninitial_warmup = 1\nfinal_warmup = 1\n" +
             std::string(kContrastive) + "epochs = 3\n",
         3},
    };
    for (const auto& kind : kinds) {
        CAPTURE(kind.name);
        const Counts c = run_counted(dir, recipe(dir, kind.name, backend, kind.pruning), true);
        REQUIRE(c.finetune.size() == 5);
        for (double n : c.finetune) CHECK(n <= 1.0 + copies);  // the loss, for the log
        for (double n : c.finetune) CHECK(n >= 1.0);
        REQUIRE(c.pruning.size() >= 5);
        for (double n : c.pruning) {
            CHECK(n >= 1.0);  // the observer sees this run's reads
            CHECK(n <= kind.budget + copies);
        }
    }
    // Without the variable nothing observes ATen and the events carry no count.
    run_counted(dir, recipe(dir, "plain", backend, ""), false);
}
