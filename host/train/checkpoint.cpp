#include "train/checkpoint.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/serialize.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "model/checkpoint.hpp"
#include "model/safetensors.hpp"
#include "util/atomic_file.hpp"

namespace fs = std::filesystem;

namespace cap::train {

namespace {

std::string folder_name(const std::string& stage, int64_t epoch) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "-e%04lld", static_cast<long long>(epoch));
    return stage + buf;
}

at::Tensor generator_state() {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    return gen.get_state();
}

void set_generator_state(const at::Tensor& state) {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}

// Dropout on a GPU draws from that device's own generator: its state is saved beside the CPU's.
std::optional<at::Device> cuda_device_of(model::Bert& model) {
    const auto params = model->parameters();
    if (params.empty() || !params.front().is_cuda()) return std::nullopt;
    return params.front().device();
}

}  // namespace

fs::path save_checkpoint(const fs::path& dir, const TrainingState& state, model::Bert& model, const AdamW& optimizer,
                         int64_t keep) {
    fs::create_directories(dir);
    const fs::path final_dir = dir / folder_name(state.stage, state.epoch);
    const fs::path tmp = dir / (".tmp-" + folder_name(state.stage, state.epoch));
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value());
    model::write_safetensors(tmp / "model.safetensors", tensors);
    optimizer.save(tmp / "optimizer.safetensors");
    torch::save(generator_state(), (tmp / "rng.pt").string());
    if (auto device = cuda_device_of(model)) {
        auto gen = at::globalContext().defaultGenerator(*device);
        std::lock_guard<std::mutex> lock(gen.mutex());
        torch::save(gen.get_state(), (tmp / "rng-cuda.pt").string());
    }
    nlohmann::ordered_json j{{"stage", state.stage},
                             {"epoch", state.epoch},
                             {"step", state.step},
                             {"metrics_bytes", state.metrics_bytes},
                             {"shuffle_rng", state.shuffle_rng}};
    if (state.loss_scaler)
        j["loss_scaler"] = {{"scale", state.loss_scaler->scale},
                            {"clean_steps", state.loss_scaler->clean_steps},
                            {"skipped_steps", state.loss_scaler->skipped_steps}};
    util::write_file_atomic(tmp / "state.json", j.dump(2) + "\n");
    fs::remove_all(final_dir);
    fs::rename(tmp, final_dir);

    // Keep the newest `keep` checkpoints of this stage.
    std::vector<fs::path> own;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_directory() && e.path().filename().string().rfind(state.stage + "-e", 0) == 0) own.push_back(e.path());
    std::sort(own.begin(), own.end());
    for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(1, keep)) < own.size(); ++i) fs::remove_all(own[i]);
    return final_dir;
}

std::optional<fs::path> latest_checkpoint(const fs::path& dir, const std::string& stage) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return std::nullopt;
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory() && e.path().filename().string().rfind(stage + "-e", 0) == 0 &&
            fs::exists(e.path() / "state.json"))
            found.push_back(e.path());
    if (found.empty()) return std::nullopt;
    return *std::max_element(found.begin(), found.end());
}

TrainingState load_checkpoint(const fs::path& folder, model::Bert& model, AdamW& optimizer) {
    std::ifstream in(folder / "state.json");
    if (!in) throw std::runtime_error("checkpoint " + folder.string() + " has no state.json");
    nlohmann::json j;
    in >> j;
    TrainingState s;
    s.stage = j.at("stage").get<std::string>();
    s.epoch = j.at("epoch").get<int64_t>();
    s.step = j.at("step").get<int64_t>();
    s.metrics_bytes = j.at("metrics_bytes").get<uint64_t>();
    s.shuffle_rng = j.at("shuffle_rng").get<std::string>();
    if (j.contains("loss_scaler")) {
        const auto& l = j.at("loss_scaler");
        s.loss_scaler = LossScalerState{l.at("scale").get<double>(), l.at("clean_steps").get<int64_t>(),
                                        l.at("skipped_steps").get<int64_t>()};
    }
    auto weights = model::read_safetensors(folder / "model.safetensors").tensors;
    auto report = model::assign_state(model, weights, (folder / "model.safetensors").string());
    if (!report.missing.empty() || !report.unexpected.empty())
        throw std::runtime_error("checkpoint " + folder.string() + " does not match the model");
    optimizer.load(folder / "optimizer.safetensors");
    at::Tensor rng;
    torch::load(rng, (folder / "rng.pt").string());
    set_generator_state(rng);
    if (auto device = cuda_device_of(model); device && fs::exists(folder / "rng-cuda.pt")) {
        at::Tensor cuda_rng;
        torch::load(cuda_rng, (folder / "rng-cuda.pt").string());
        auto gen = at::globalContext().defaultGenerator(*device);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(cuda_rng);
    }
    return s;
}

}  // namespace cap::train
