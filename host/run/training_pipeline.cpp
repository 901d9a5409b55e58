#include "run/training_pipeline.hpp"

#include <spdlog/spdlog.h>

#include "cap/plugin_torch.hpp"
#include "plugin/criterion_plugin.hpp"
#include "run/pruning_run.hpp"
#include "run/teacher_stage.hpp"
#include "text/wordpiece_tokenizer.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::run {

void run_training(const recipe::ResolvedRecipe& r, const cap_exec_context& context, const RunPrecision& precision,
                  const fs::path& run_dir, bool resume) {
    if (!r.task) {
        spdlog::info("no [task] in the recipe: nothing to train");
        return;
    }
    const at::Device device = cap::to_device(context.device);
    std::optional<text::WordPieceTokenizer> tokenizer;
    if (r.task->name != "synthetic") tokenizer.emplace(text::Vocabulary::load(r.model.folder / "vocab.txt"));
    auto task = data::make_task(*r.task, tokenizer ? &*tokenizer : nullptr);
    spdlog::info("task {}: {} training examples", task->name(), task->train_size());

    train::MetricsLog log(run_dir / "metrics.jsonl");
    if (resume) log.write({{"event", "resume"}});
    Teacher teacher = prepare_teacher(r, *task, device, precision, run_dir, log, resume);

    nlohmann::ordered_json summary;
    summary["task"] = task->name();
    summary["main_metric"] = task->main_metric();
    summary["teacher"] = {{"model", teacher.folder.string()}, {"metrics", teacher.metrics}};
    if (r.criterion && r.schedule) {
        host::CriterionPlugin criterion(r.instantiate(*r.criterion));
        PruningRun pruning({r, *task, teacher, criterion, context, precision, run_dir, log, resume});
        const nlohmann::ordered_json result = pruning.run();
        for (auto& [k, v] : result.items()) summary[k] = v;
        util::write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
        pruning.remove_checkpoints();  // the result is saved: what would resume it is not needed
        return;
    } else if (r.criterion || r.schedule) {
        spdlog::warn("pruning needs both a [criterion] and a [schedule]: only the teacher was trained");
    }
    util::write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
}

}  // namespace cap::run
