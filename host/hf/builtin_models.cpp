#include "hf/builtin_models.hpp"

namespace cap::hf {

bool is_builtin_model(const std::string& spec) { return spec.rfind(kBuiltinPrefix, 0) == 0; }

const std::vector<std::string>& builtin_model_names() {
    static const std::vector<std::string> names = {"builtin:bert-tiny", "builtin:bert-base"};
    return names;
}

std::optional<BertConfig> builtin_config(const std::string& spec) {
    BertConfig c;  // BertConfig's defaults are bert-base-uncased's
    if (spec == "builtin:bert-base") return c;
    if (spec == "builtin:bert-tiny") {
        c.hidden_size = 128;
        c.num_hidden_layers = 2;
        c.num_attention_heads = 2;
        c.intermediate_size = 512;
        return c;
    }
    return std::nullopt;
}

}  // namespace cap::hf
