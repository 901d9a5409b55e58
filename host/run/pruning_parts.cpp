#include "run/pruning_parts.hpp"

#include <ATen/DLConvertor.h>
#include <spdlog/spdlog.h>

#include "cap/plugin_torch.hpp"
#include "model/checkpoint.hpp"
#include "plugin/host_services.hpp"

namespace fs = std::filesystem;

namespace cap::run {

std::unique_ptr<host::PluginInstance> instantiate(const recipe::PluginUse& use) {
    return std::make_unique<host::PluginInstance>(use.plugin, use.values);
}

ModelSource load_student(const recipe::ResolvedRecipe& r, const data::Task& task, const at::Device& device) {
    at::manual_seed(host::derive_seed(r.seed, "student"));
    ModelSource source = load_model(r.model.pretrained, r.model.folder, task.head(), task.labels());
    source.model->to(device);
    return source;
}

cap_model_shape shape_of(const model::Bert& model) {
    const auto& c = model->config();
    return recipe::make_shape(static_cast<int>(c.num_hidden_layers), static_cast<int>(c.num_attention_heads),
                              static_cast<int>(c.hidden_size), static_cast<int>(c.intermediate_size));
}

std::vector<prune::ContrastiveModule> make_contrastive_modules(const recipe::ResolvedRecipe& r) {
    std::vector<prune::ContrastiveModule> modules;
    for (const auto& use : r.contrastive) {
        prune::ContrastiveModule m;
        m.name = use.section.substr(std::string("contrastive.").size());
        m.plugin = std::make_unique<host::ContrastivePlugin>(instantiate(use));
        m.sources = m.plugin->wants();
        modules.push_back(std::move(m));
    }
    return modules;
}

bool anyone_wants(const std::vector<prune::ContrastiveModule>& modules, uint32_t source) {
    for (const auto& m : modules)
        if (m.sources & source) return true;
    return false;
}

void deliver_bank(std::vector<prune::ContrastiveModule>& modules, uint32_t source, int32_t snapshot, int64_t step,
                  double sparsity, const at::Tensor& representations, const at::Tensor& labels,
                  const cap_exec_context& context) {
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

prune::TrainingSetEncoding encode_teacher(model::Bert& teacher, const data::Task& task, model::Pooling pooling,
                                          bool logits, int64_t batch_size, const at::Device& device) {
    if (!logits && pooling == model::Pooling::kNone) return {};
    const auto start = Clock::now();
    prune::EncodingRequest req;
    req.pooling = pooling;
    req.logits = logits;
    req.batch_size = batch_size;
    req.device = device;
    auto out = prune::encode_training_set(teacher, task, req);
    spdlog::info("teacher: encoded {} training examples once in {:.1f} s", task.train_size(), seconds_since(start));
    return out;
}

void save_model_folder(model::Bert& model, const fs::path& folder, const ModelSource& source) {
    const fs::path tmp = folder.parent_path() / ("." + folder.filename().string() + ".tmp");
    fs::remove_all(tmp);
    model::save_pretrained(model, tmp, source.vocabulary ? &*source.vocabulary : nullptr, source.raw_config);
    fs::remove_all(folder);
    fs::rename(tmp, folder);
}

}  // namespace cap::run
