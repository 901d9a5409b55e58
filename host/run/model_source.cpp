#include "run/model_source.hpp"

#include <spdlog/spdlog.h>

#include "model/checkpoint.hpp"

namespace cap::run {

model::BertConfig builtin_config(const std::string& name) {
    model::BertConfig c;  // bert-base-uncased's defaults
    if (name == "builtin:bert-base") return c;
    if (name == "builtin:bert-tiny") {
        c.hidden_size = 128;
        c.num_hidden_layers = 2;
        c.num_attention_heads = 2;
        c.intermediate_size = 512;
        return c;
    }
    throw std::runtime_error("unknown built-in model '" + name + "'");
}

ModelSource load_model(const std::string& spec, const std::filesystem::path& folder, model::TaskHead head,
                       const std::vector<std::string>& labels) {
    ModelSource out;
    if (spec.rfind("builtin:", 0) == 0) {
        model::BertConfig config = builtin_config(spec);
        config.labels = labels;
        out.model = model::Bert(config, head);
        spdlog::info("model {}: {} layers, {} heads, hidden {}, FFN {}, randomly initialised", spec,
                     config.num_hidden_layers, config.num_attention_heads, config.hidden_size, config.intermediate_size);
        return out;
    }
    auto loaded = model::load_pretrained(folder, head, labels);
    spdlog::info("model {} from {}", folder.string(), loaded.report.weights_file.filename().string());
    out.model = loaded.model;
    out.vocabulary = std::move(loaded.vocabulary);
    out.raw_config = std::move(loaded.raw_config);
    return out;
}

}  // namespace cap::run
