#include "model/checkpoint.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "hf/safetensors_format.hpp"
#include "model/safetensors.hpp"
#include "model/torch_state_dict.hpp"
#include "util/atomic_file.hpp"
#include "util/error_text.hpp"

namespace fs = std::filesystem;

namespace cap::model {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Old TF-converted checkpoints call LayerNorm parameters gamma and beta.
std::string fix_layer_norm_names(std::string key) {
    if (ends_with(key, ".gamma")) return key.substr(0, key.size() - 6) + ".weight";
    if (ends_with(key, ".beta")) return key.substr(0, key.size() - 5) + ".bias";
    return key;
}

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::string shape_text(at::IntArrayRef s) {
    std::ostringstream o;
    o << s;
    return o.str();
}

}  // namespace

LoadReport assign_state(Bert& model, const std::vector<std::pair<std::string, at::Tensor>>& state,
                        const std::string& source) {
    LoadReport report;
    std::map<std::string, at::Tensor> params;
    for (auto& p : model->named_parameters()) params.emplace(p.key(), p.value());
    std::set<std::string> assigned;
    torch::NoGradGuard no_grad;
    for (const auto& [raw_key, tensor] : state) {
        std::string key = fix_layer_norm_names(raw_key);
        if (ends_with(key, "position_ids")) continue;  // a buffer, recomputed
        if (!params.count(key) && params.count("bert." + key)) key = "bert." + key;
        auto it = params.find(key);
        if (it == params.end()) {
            report.unexpected.push_back(raw_key);
            continue;
        }
        if (!it->second.sizes().equals(tensor.sizes()))
            throw std::runtime_error(source + ": '" + raw_key + "' has shape " + shape_text(tensor.sizes()) +
                                     " but the model expects " + shape_text(it->second.sizes()) +
                                     (key.rfind("classifier", 0) == 0 ? " (a different number of labels?)" : ""));
        if (!tensor.is_floating_point())
            throw std::runtime_error(source + ": '" + raw_key + "' is not a floating-point tensor");
        it->second.copy_(tensor);
        assigned.insert(key);
    }
    for (auto& p : model->named_parameters())  // in the model's order, as Hugging Face lists them
        if (!assigned.count(p.key())) report.missing.push_back(p.key());
    return report;
}

LoadedModel load_pretrained(const fs::path& folder, TaskHead head, const std::vector<std::string>& labels) {
    if (!fs::is_directory(folder)) throw std::runtime_error("model folder not found: " + folder.string());
    const fs::path config_file = folder / "config.json";
    LoadedModel out;
    {
        std::ifstream in(config_file);
        if (!in) throw std::runtime_error(folder.string() + " has no config.json");
        try {
            in >> out.raw_config;
        } catch (const std::exception& e) {
            throw std::runtime_error(config_file.string() + " is not valid JSON: " + util::error_text(e));
        }
    }
    BertConfig config = BertConfig::from_json(out.raw_config, config_file.string());
    if (!labels.empty()) config.labels = labels;
    if (fs::exists(folder / "model.safetensors"))
        hf::check_config_against_weights(config, hf::read_safetensors_header(folder / "model.safetensors"), config_file,
                                         folder / "model.safetensors");
    if (fs::exists(folder / "vocab.txt")) {
        out.vocabulary = text::Vocabulary::load(folder / "vocab.txt");
        hf::check_vocabulary_size(config, out.vocabulary->size(), config_file, folder / "vocab.txt");
    }
    out.model = Bert(config, head);

    std::vector<std::pair<std::string, at::Tensor>> state;
    if (fs::exists(folder / "model.safetensors")) {
        out.report.weights_file = folder / "model.safetensors";
        state = read_safetensors(out.report.weights_file).tensors;
    } else if (fs::exists(folder / "pytorch_model.bin")) {
        out.report.weights_file = folder / "pytorch_model.bin";
        state = read_torch_state_dict(out.report.weights_file);
    } else {
        throw std::runtime_error(folder.string() + " has neither model.safetensors nor pytorch_model.bin");
    }
    LoadReport r = assign_state(out.model, state, out.report.weights_file.string());
    r.weights_file = out.report.weights_file;
    out.report = r;
    // As Hugging Face: weights the checkpoint lacks are freshly initialised (init_weights ran in
    // the constructor, so they already are) and reported, as are weights it did not use.
    const char* arch = head == TaskHead::kClassification ? "BertForSequenceClassification" : "BertForQuestionAnswering";
    if (!r.unexpected.empty())
        spdlog::info("Some weights of the model checkpoint at {} were not used when initializing {}: [{}]",
                     folder.string(), arch, join(r.unexpected));
    if (!r.missing.empty())
        spdlog::warn(
            "Some weights of {} were not initialized from the model checkpoint at {} and are newly "
            "initialized: [{}]",
            arch, folder.string(), join(r.missing));
    return out;
}

void save_pretrained(Bert& model, const fs::path& folder, const text::Vocabulary* vocabulary,
                     const nlohmann::json& original_config) {
    fs::create_directories(folder);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());
    write_safetensors(folder / "model.safetensors", tensors);
    nlohmann::json original = original_config;
    original["architectures"] = {model->head() == TaskHead::kClassification ? "BertForSequenceClassification"
                                                                            : "BertForQuestionAnswering"};
    util::write_file_atomic(folder / "config.json", model->config().to_json(original).dump(2) + "\n");
    if (vocabulary) {
        std::string text;
        for (const auto& t : vocabulary->tokens()) text += t + "\n";
        util::write_file_atomic(folder / "vocab.txt", text);
    }
}

}  // namespace cap::model
