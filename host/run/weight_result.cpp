#include "run/weight_result.hpp"

#include <ATen/ATen.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "model/safetensors.hpp"
#include "prune/remaining_weights.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::run {

namespace {

// The masks, as 0/1 bytes named after the weights they multiply; the scores when learned.
void save_masks(const model::WeightMasks& masks, const fs::path& run_dir) {
    std::vector<std::pair<std::string, at::Tensor>> bits, scores;
    for (const auto& s : masks.slots()) {
        bits.emplace_back(s.name + ".weight", s.mask.to(at::kCPU, at::kByte));
        if (s.scores.defined()) scores.emplace_back(s.name + ".weight", s.scores.detach().to(at::kCPU));
    }
    model::write_safetensors(run_dir / "masks.safetensors", bits, {{"content", "1 = kept, 0 = pruned"}});
    if (!scores.empty()) model::write_safetensors(run_dir / "scores.safetensors", scores);
}

}  // namespace

void freeze_embeddings(model::Bert& model) {
    for (auto& p : model->named_parameters())
        if (p.key().rfind("bert.embeddings.", 0) == 0) p.value().set_requires_grad(false);
}

nlohmann::ordered_json save_weight_result(PruningRun& run, const model::WeightMasks& masks,
                                          const nlohmann::ordered_json& fields) {
    const auto counts = prune::count_remaining(run.student, masks);
    util::write_file_atomic(run.run_dir / "remaining_weights.csv", prune::remaining_weights_csv(counts));
    for (const auto& line : prune::remaining_weights_lines(counts)) spdlog::info("{}", line);
    save_masks(masks, run.run_dir);
    {
        torch::NoGradGuard no_grad;
        for (const auto& slot : masks.slots()) run.student->linear_weight(slot.layer, slot.which).mul_(slot.mask);
    }
    save_model_folder(run.student, run.run_dir / "final", run.source);
    auto final_metrics = run.task.evaluate(run.student, run.eval_options()).metrics;
    nlohmann::ordered_json e{{"event", "final"}, {"model", (run.run_dir / "final").string()}};
    for (auto& [key, value] : fields.items()) e[key] = value;
    e["remaining_weights"] = counts.percent();
    e["masked_weights_kept"] = counts.masked_kept();
    e["masked_weights"] = counts.masked_total();
    for (auto& [key, value] : final_metrics.items()) e[key] = value;
    run.add_bank_bytes(e);
    run.log.write(e);
    spdlog::info("model with pruned weights zeroed saved to {} ({:.2f}% of encoder weights remain): {}",
                 (run.run_dir / "final").string(), counts.percent(), final_metrics.dump());
    return e;
}

}  // namespace cap::run
