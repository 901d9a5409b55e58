#include "run/teacher_stage.hpp"

#include <ATen/Context.h>
#include <spdlog/spdlog.h>

#include "model/checkpoint.hpp"
#include "run/model_source.hpp"
#include "train/fine_tune.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::run {

namespace {

nlohmann::ordered_json evaluate(const data::Task& task, model::Bert& model, const recipe::ResolvedRecipe& r,
                                const at::Device& device) {
    data::EvalOptions options;
    options.batch_size = r.finetune.eval_batch_size;
    options.device = device;
    return task.evaluate(model, options).metrics;
}

void log_event(train::MetricsLog& log, const std::string& event, const nlohmann::ordered_json& metrics,
               const fs::path& folder) {
    nlohmann::ordered_json e{{"event", event}, {"stage", "teacher"}, {"model", folder.string()}};
    for (auto& [k, v] : metrics.items()) e[k] = v;
    log.write(e);
}

}  // namespace

Teacher prepare_teacher(const recipe::ResolvedRecipe& r, const data::Task& task, const at::Device& device,
                        const RunPrecision& precision, const fs::path& run_dir, train::MetricsLog& log, bool resume) {
    Teacher t;
    if (!r.model.teacher_folder.empty()) {
        t.folder = r.model.teacher_folder;
        t.model = load_model(r.model.teacher, t.folder, task.head(), task.labels()).model;
        t.model->to(device);
        precision.apply(t.model);
        t.metrics = evaluate(task, t.model, r, device);
        spdlog::info("teacher {}: {}", t.folder.string(), t.metrics.dump());
        log_event(log, "teacher", t.metrics, t.folder);
        return t;
    }
    t.folder = run_dir / "teacher";
    if (resume && fs::exists(t.folder / "model.safetensors")) {
        t.model = model::load_pretrained(t.folder, task.head(), task.labels()).model;
        t.model->to(device);
        precision.apply(t.model);
        t.metrics = evaluate(task, t.model, r, device);
        spdlog::info("teacher already fine-tuned in {}: {}", t.folder.string(), t.metrics.dump());
        return t;
    }
    // Same seed, same initial weights (the classifier of a pre-trained checkpoint included).
    at::manual_seed(r.seed);
    ModelSource source = load_model(r.model.pretrained, r.model.folder, task.head(), task.labels());
    t.model = source.model;
    precision.apply(t.model);
    train::StageContext stage(task, t.model, log);
    stage.device = device;
    stage.checkpoint_dir = run_dir / "checkpoints";
    stage.stage = "finetune";
    stage.seed = r.seed;
    stage.resume = resume;
    stage.loss_scaling = precision.loss_scaling;
    t.metrics = train::fine_tune(stage, r.finetune);
    if (t.metrics.empty()) t.metrics = evaluate(task, t.model, r, device);
    save_model_folder(t.model, t.folder, source);
    log_event(log, "teacher", t.metrics, t.folder);
    spdlog::info("teacher fine-tuned and saved to {}: {}", t.folder.string(), t.metrics.dump());
    return t;
}

}  // namespace cap::run
