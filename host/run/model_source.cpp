#include "run/model_source.hpp"

#include <spdlog/spdlog.h>

#include "hf/builtin_models.hpp"
#include "model/checkpoint.hpp"

namespace cap::run {

ModelSource load_model(const std::string& spec, const std::filesystem::path& folder, model::TaskHead head,
                       const std::vector<std::string>& labels) {
    ModelSource out;
    if (hf::is_builtin_model(spec)) {
        auto builtin = hf::builtin_config(spec);
        if (!builtin) throw std::runtime_error("unknown built-in model '" + spec + "'");
        hf::BertConfig config = *builtin;
        config.labels = labels;
        out.model = model::Bert(config, head);
        spdlog::info("model {}: {} layers, {} heads, hidden {}, FFN {}, randomly initialised", spec,
                     config.num_hidden_layers, config.num_attention_heads, config.hidden_size,
                     config.intermediate_size);
        return out;
    }
    auto loaded = model::load_pretrained(folder, head, labels);
    spdlog::info("model {} from {}", folder.string(), loaded.report.weights_file.filename().string());
    out.model = loaded.model;
    out.vocabulary = std::move(loaded.vocabulary);
    out.raw_config = std::move(loaded.raw_config);
    return out;
}

void save_model_folder(model::Bert& model, const std::filesystem::path& folder, const ModelSource& source) {
    const std::filesystem::path tmp = folder.parent_path() / ("." + folder.filename().string() + ".tmp");
    std::filesystem::remove_all(tmp);
    model::save_pretrained(model, tmp, source.vocabulary ? &*source.vocabulary : nullptr, source.raw_config);
    std::filesystem::remove_all(folder);
    std::filesystem::rename(tmp, folder);
}

}  // namespace cap::run
