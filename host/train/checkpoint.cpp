#include "train/checkpoint.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <spdlog/spdlog.h>
#include <torch/serialize.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "model/checkpoint.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"
#include "util/error_text.hpp"
#include "util/run_lock.hpp"

namespace fs = std::filesystem;

namespace cap::train {

namespace {

std::string folder_name(const TrainingState& s) {
    char buf[48];
    if (s.batch > 0)
        std::snprintf(buf, sizeof(buf), "-e%04lld-b%08lld", static_cast<long long>(s.epoch),
                      static_cast<long long>(s.batch));
    else
        std::snprintf(buf, sizeof(buf), "-e%04lld", static_cast<long long>(s.epoch));
    return s.stage + buf;
}

// Dropout on a GPU draws from that device's own generator: its state is saved beside the CPU's.
std::optional<at::Device> cuda_device_of(model::Bert& model) {
    const auto params = model->parameters();
    if (params.empty() || !params.front().is_cuda()) return std::nullopt;
    return params.front().device();
}

at::Generator generator_for(const std::optional<at::Device>& device) {
    return device ? at::globalContext().defaultGenerator(*device) : at::detail::getDefaultCPUGenerator();
}

at::Tensor generator_state(const std::optional<at::Device>& device) {
    auto gen = generator_for(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
}

void set_generator_state(const std::optional<at::Device>& device, const at::Tensor& state) {
    auto gen = generator_for(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}

at::Tensor load_tensor(const fs::path& file) {
    if (!fs::is_regular_file(file)) throw std::runtime_error(file.string() + " is missing");
    at::Tensor t;
    try {
        torch::load(t, file.string());
    } catch (const std::exception&) {
        throw std::runtime_error(file.string() + " cannot be read (truncated or not a saved tensor)");
    }
    return t;
}

nlohmann::json read_state_json(const fs::path& folder) {
    const fs::path file = folder / "state.json";
    std::ifstream in(file);
    if (!in) throw std::runtime_error(file.string() + " is missing");
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
        throw std::runtime_error(file.string() + " is not valid JSON");
    }
}

TrainingState parse_state(const nlohmann::json& j, const fs::path& folder) {
    TrainingState s;
    try {
        s.stage = j.at("stage").get<std::string>();
        s.epoch = j.at("epoch").get<int64_t>();
        s.batch = j.value("batch", int64_t{0});
        s.step = j.at("step").get<int64_t>();
        s.metrics_bytes = j.at("metrics_bytes").get<uint64_t>();
        s.shuffle_rng = j.at("shuffle_rng").get<std::string>();
        if (j.contains("loss_scaler")) {
            const auto& l = j.at("loss_scaler");
            s.loss_scaler = LossScalerState{l.at("scale").get<double>(), l.at("clean_steps").get<int64_t>(),
                                            l.at("skipped_steps").get<int64_t>()};
        }
        if (j.contains("last_eval")) s.last_eval = j.at("last_eval");
        if (j.contains("window")) s.window = j.at("window");
        if (j.contains("extra")) s.extra = j.at("extra");
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error((folder / "state.json").string() + " lacks a field or has one of the wrong type (" +
                                 util::error_text(e) + ")");
    }
    return s;
}

// What a checkpoint's model part holds, read and checked against the model before it is used.
struct SavedWeights {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    at::Tensor rng, cuda_rng;
};

SavedWeights read_weights_and_generators(const fs::path& folder, model::Bert& model) {
    SavedWeights saved;
    const fs::path weights = folder / "model.safetensors";
    if (!fs::is_regular_file(weights)) throw std::runtime_error(weights.string() + " is missing");
    saved.tensors = model::read_safetensors(weights).tensors;
    std::map<std::string, at::Tensor> by_name(saved.tensors.begin(), saved.tensors.end());
    for (const auto& p : model->named_parameters()) {
        auto it = by_name.find(p.key());
        if (it == by_name.end() || !it->second.sizes().equals(p.value().sizes()))
            throw std::runtime_error(weights.string() + " has no " + p.key() + " of the model's shape");
    }
    saved.rng = load_tensor(folder / "rng.pt");
    if (cuda_device_of(model) && fs::exists(folder / "rng-cuda.pt"))
        saved.cuda_rng = load_tensor(folder / "rng-cuda.pt");
    return saved;
}

void apply(const SavedWeights& saved, model::Bert& model, const fs::path& folder) {
    model::assign_state(model, saved.tensors, (folder / "model.safetensors").string());
    set_generator_state(std::nullopt, saved.rng);
    if (saved.cuda_rng.defined()) set_generator_state(cuda_device_of(model), saved.cuda_rng);
}

}  // namespace

void save_weights_and_generators(const fs::path& folder, model::Bert& model) {
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());
    model::write_safetensors(folder / "model.safetensors", tensors);
    torch::save(generator_state(std::nullopt), (folder / "rng.pt").string());
    if (auto device = cuda_device_of(model)) torch::save(generator_state(device), (folder / "rng-cuda.pt").string());
}

void restore_weights_and_generators(const fs::path& folder, model::Bert& model) {
    apply(read_weights_and_generators(folder, model), model, folder);
}

fs::path save_checkpoint(const fs::path& dir, const TrainingState& state, model::Bert& model, const AdamW& optimizer,
                         int64_t keep) {
    util::check_run_folder();  // before create_directories could recreate a deleted run folder
    fs::create_directories(dir);
    const fs::path final_dir = dir / folder_name(state);
    const fs::path tmp = dir / (".tmp-" + folder_name(state));
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    save_weights_and_generators(tmp, model);
    optimizer.save(tmp / "optimizer.safetensors");
    nlohmann::ordered_json j{{"stage", state.stage},
                             {"epoch", state.epoch},
                             {"batch", state.batch},
                             {"step", state.step},
                             {"metrics_bytes", state.metrics_bytes},
                             {"shuffle_rng", state.shuffle_rng}};
    if (state.loss_scaler)
        j["loss_scaler"] = {{"scale", state.loss_scaler->scale},
                            {"clean_steps", state.loss_scaler->clean_steps},
                            {"skipped_steps", state.loss_scaler->skipped_steps}};
    if (!state.last_eval.is_null()) j["last_eval"] = state.last_eval;
    if (!state.window.is_null()) j["window"] = state.window;
    if (!state.extra.is_null()) j["extra"] = state.extra;
    util::write_file_atomic(tmp / "state.json", j.dump(2) + "\n");
    fs::remove_all(final_dir);
    fs::rename(tmp, final_dir);

    // Keep the newest `keep` checkpoints of this stage.
    auto own = checkpoints_of(dir, state.stage);
    for (size_t i = static_cast<size_t>(std::max<int64_t>(1, keep)); i < own.size(); ++i) fs::remove_all(own[i]);
    return final_dir;
}

std::vector<fs::path> checkpoints_of(const fs::path& dir, const std::string& stage) {
    std::vector<fs::path> found;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return found;
    const std::string prefix = stage + "-e";
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        // "<stage>-e" then digits only up to an optional "-b": stage-01's prefix must not match stage-01-x.
        if (!e.is_directory() || name.rfind(prefix, 0) != 0 || !fs::exists(e.path() / "state.json")) continue;
        const std::string rest = name.substr(prefix.size());
        if (rest.empty() || rest.find_first_not_of("0123456789-b") != std::string::npos) continue;
        found.push_back(e.path());
    }
    std::sort(found.rbegin(), found.rend());
    return found;
}

std::optional<TrainingState> restore_newest(const fs::path& dir, const std::string& stage, model::Bert& model,
                                            AdamW& optimizer) {
    for (const auto& folder : checkpoints_of(dir, stage)) {
        try {
            TrainingState state = parse_state(read_state_json(folder), folder);
            SavedWeights saved = read_weights_and_generators(folder, model);
            const fs::path moments = folder / "optimizer.safetensors";
            if (!fs::is_regular_file(moments)) throw std::runtime_error(moments.string() + " is missing");
            optimizer.load(moments);  // the last step that can fail; it checks before it changes anything
            apply(saved, model, folder);
            return state;
        } catch (const std::exception& e) {
            spdlog::warn("checkpoint {} is unusable ({}); trying the one before it", folder.string(),
                         util::error_text(e));
        }
    }
    return std::nullopt;
}

}  // namespace cap::train
