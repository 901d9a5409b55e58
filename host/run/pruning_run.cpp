#include "run/pruning_run.hpp"

#include <ATen/ATen.h>
#include <ATen/DLConvertor.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>

#include "cap/plugin_torch.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/run_lock.hpp"
#include "util/seed.hpp"

namespace cap::run {

namespace {

std::unique_ptr<PruningStrategy> choose_strategy(const host::CriterionPlugin& criterion) {
    auto strategy = criterion.score_based() ? make_step_schedule() : make_stage_loop();
    strategy->check_criterion(criterion);
    return strategy;
}

std::vector<prune::ContrastiveModule> make_contrastive_modules(const recipe::ResolvedRecipe& r) {
    std::vector<prune::ContrastiveModule> modules;
    for (const auto& use : r.contrastive) {
        prune::ContrastiveModule m;
        m.name = use.section.substr(std::string("contrastive.").size());
        m.plugin = std::make_unique<host::ContrastivePlugin>(r.instantiate(use));
        m.sources = m.plugin->wants();
        modules.push_back(std::move(m));
    }
    return modules;
}

// The pre-trained model with a freshly initialised head, seeded from the run's seed.
ModelSource load_student(const recipe::ResolvedRecipe& r, const data::Task& task, const at::Device& device) {
    at::manual_seed(util::derive_seed(r.seed, "student"));
    ModelSource source = load_model(r.model.pretrained, r.model.folder, task.head(), task.labels());
    source.model->to(device);
    return source;
}

}  // namespace

PruningRun::PruningRun(const PruningInputs& in)
    : strategy_(choose_strategy(in.criterion)),
      recipe(in.recipe),
      task(in.task),
      teacher(in.teacher),
      criterion(in.criterion),
      context(in.context),
      device(cap::to_device(in.context.device)),
      precision(in.precision),
      run_dir(in.run_dir),
      checkpoint_dir(in.run_dir / "checkpoints"),
      log(in.log),
      resume(in.resume),
      train(in.recipe.prune.train),
      pooling(in.recipe.prune.representation == "mean" ? model::Pooling::kMean : model::Pooling::kCls),
      schedule(in.recipe.instantiate(*in.recipe.schedule)) {
    if (recipe.distill) distill.emplace(recipe.instantiate(*recipe.distill));
    modules = make_contrastive_modules(recipe);
    source = load_student(recipe, task, device);
    student = source.model;
    precision.apply(student);
    schedule.bind(recipe::model_shape(student->config()), recipe.constraints);
    strategy_->prepare(*this);

    // The teacher is frozen: its logits and representations are computed once, here, not per batch.
    const bool fic = anyone_wants(CAP_CAPTURE_FINETUNED);
    if (distill || fic) {
        const auto start = Clock::now();
        prune::EncodingRequest req;
        req.pooling = fic ? pooling : model::Pooling::kNone;
        req.logits = distill.has_value();
        req.batch_size = train.eval_batch_size;
        req.device = device;
        teacher_outputs = prune::encode_training_set(teacher.model, task, req);
        spdlog::info("teacher: encoded {} training examples once in {:.1f} s", task.train_size(), seconds_since(start));
    }
    const auto start_file = checkpoint_dir / "pruning-start.json";
    metrics_bytes_at_start_ = log.size();
    if (resume && std::filesystem::exists(start_file)) {
        try {
            std::ifstream in(start_file);
            metrics_bytes_at_start_ = nlohmann::json::parse(in).at("metrics_bytes").get<uint64_t>();
        } catch (const nlohmann::json::exception&) {
            throw std::runtime_error(start_file.string() +
                                     " is damaged (it should hold {\"metrics_bytes\": N}); "
                                     "delete the run folder's checkpoints/ to prune again from the start");
        }
    } else {
        std::filesystem::create_directories(checkpoint_dir);
        util::write_file_atomic(start_file, nlohmann::json{{"metrics_bytes", metrics_bytes_at_start_}}.dump() + "\n");
    }
    const auto n = static_cast<int64_t>(task.train_size());
    steps_per_epoch = (n + train.batch_size - 1) / train.batch_size;
    objective.emplace(task, recipe.prune.ce_weight, pooling, distill ? &*distill : nullptr, modules,
                      distill ? &teacher_outputs : nullptr, context);
}

bool PruningRun::anyone_wants(uint32_t source) const {
    for (const auto& m : modules)
        if (m.sources & source) return true;
    return false;
}

namespace {

std::filesystem::path journal_entry(const std::filesystem::path& checkpoint_dir, int64_t index, const char* ext) {
    return checkpoint_dir / "banks" / fmt::format("bank-{:03d}.{}", index, ext);
}

std::string exact(double value) { return fmt::format("{:.17g}", value); }

}  // namespace

void PruningRun::deliver_bank(uint32_t source, int32_t snapshot, int64_t step, double sparsity,
                              const at::Tensor& representations, const at::Tensor& labels) {
    // The journal entry first (tensors, then the JSON that marks it complete), then the modules.
    const int64_t index = banks_delivered_;
    util::check_run_folder();  // before create_directories could recreate a deleted run folder
    std::filesystem::create_directories(checkpoint_dir / "banks");
    if (source != CAP_CAPTURE_FINETUNED) {
        std::vector<std::pair<std::string, at::Tensor>> tensors{{"representations", representations}};
        if (labels.defined()) tensors.emplace_back("labels", labels);
        model::write_safetensors(journal_entry(checkpoint_dir, index, "safetensors"), tensors);
    }
    const nlohmann::ordered_json entry{
        {"source", source}, {"snapshot", snapshot}, {"step", step}, {"sparsity", exact(sparsity)}};
    util::write_file_atomic(journal_entry(checkpoint_dir, index, "json"), entry.dump(2) + "\n");
    hand_to_modules(source, snapshot, step, sparsity, representations, labels);
}

int64_t PruningRun::first_missing_bank(int64_t count) const {
    for (int64_t i = 0; i < count; ++i)
        if (!std::filesystem::exists(journal_entry(checkpoint_dir, i, "json"))) return i;
    return -1;
}

void PruningRun::replay_banks(int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
        const auto json_file = journal_entry(checkpoint_dir, i, "json");
        std::ifstream in(json_file);
        if (!in) throw std::runtime_error("the bank journal has no " + json_file.string() + " to resume with");
        nlohmann::json entry;
        try {
            entry = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception&) {
            throw std::runtime_error(json_file.string() + " is not valid JSON");
        }
        const auto source = entry.at("source").get<uint32_t>();
        const auto snapshot = entry.at("snapshot").get<int32_t>();
        const auto step = entry.at("step").get<int64_t>();
        const double sparsity = std::stod(entry.at("sparsity").get<std::string>());
        if (source == CAP_CAPTURE_FINETUNED) {
            hand_to_modules(source, snapshot, step, sparsity, teacher_outputs.representations, teacher_outputs.labels);
            continue;
        }
        auto file = model::read_safetensors(journal_entry(checkpoint_dir, i, "safetensors"));
        at::Tensor representations, labels;
        for (auto& [name, t] : file.tensors) (name == "labels" ? labels : representations) = t.to(device);
        hand_to_modules(source, snapshot, step, sparsity, representations, labels);
    }
    std::error_code ec;
    for (int64_t i = count;; ++i) {  // later entries belong to the lost future
        const bool had = std::filesystem::remove(journal_entry(checkpoint_dir, i, "json"), ec);
        const bool had_tensors = std::filesystem::remove(journal_entry(checkpoint_dir, i, "safetensors"), ec);
        if (!had && !had_tensors) break;
    }
    if (count > 0)
        spdlog::info("resume: {} contrastive banks delivered again from {}", count,
                     (checkpoint_dir / "banks").string());
}

int64_t PruningRun::banks_delivered(uint32_t source) const {
    return std::count(bank_sources_.begin(), bank_sources_.end(), source);
}

void PruningRun::remove_checkpoints() const {
    std::error_code ec;
    std::filesystem::remove_all(checkpoint_dir / "banks", ec);
    for (const auto& e : std::filesystem::directory_iterator(checkpoint_dir, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("stage-", 0) == 0 || name.rfind("prune-", 0) == 0 || name == "pruning-start.json")
            std::filesystem::remove_all(e.path(), ec);
    }
}

void PruningRun::hand_to_modules(uint32_t source, int32_t snapshot, int64_t step, double sparsity,
                                 const at::Tensor& representations, const at::Tensor& labels) {
    ++banks_delivered_;
    bank_sources_.push_back(source);
    DLTensor label_view{};
    if (labels.defined()) label_view = cap::to_dl(labels);
    for (auto& m : modules) {
        if (!(m.sources & source)) continue;
        cap_bank bank{};
        bank.struct_size = sizeof(bank);
        bank.source = source;
        bank.snapshot_index = snapshot;
        bank.step = step;
        bank.sparsity = sparsity;
        bank.representations = at::toDLPack(representations);
        bank.labels = labels.defined() ? &label_view : nullptr;
        m.plugin->receive_bank(context, bank);
        ++m.banks;
        spdlog::info("[contrastive.{}] bank {}: {:.1f} MiB held", m.name, m.banks,
                     double(m.plugin->memory()) / (1024.0 * 1024.0));
    }
}

prune::TrainingSetEncoding PruningRun::encode_student(const model::ForwardOptions& masks, bool train_mode) {
    prune::EncodingRequest req;
    req.masks = masks;
    req.pooling = pooling;
    req.batch_size = train.eval_batch_size;
    req.device = device;
    req.train_mode = train_mode;
    return prune::encode_training_set(student, task, req);
}

train::StageContext PruningRun::stage_context(const std::string& name) {
    train::StageContext ctx(task, student, log);
    ctx.device = device;
    ctx.checkpoint_dir = run_dir / "checkpoints";
    ctx.stage = name;
    ctx.seed = recipe.seed;
    ctx.checkpoints = true;
    ctx.loss_scaling = precision.loss_scaling;
    return ctx;
}

std::string PruningRun::parts() const {
    std::string parts = criterion.instance().label() + ", " + schedule.instance().label();
    if (distill) parts += ", " + distill->instance().label();
    for (const auto& m : modules) parts += ", " + m.plugin->instance().label();
    return parts;
}

data::EvalOptions PruningRun::eval_options() const {
    data::EvalOptions eval;
    eval.batch_size = train.eval_batch_size;
    eval.device = device;
    return eval;
}

void PruningRun::add_bank_bytes(nlohmann::ordered_json& event) const {
    for (const auto& m : modules) event["bank_bytes"][m.name] = m.plugin->memory();
}

}  // namespace cap::run
