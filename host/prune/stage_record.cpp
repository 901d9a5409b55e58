#include "prune/stage_record.hpp"

#include <ATen/ATen.h>

#include <cstdio>
#include <map>

#include "model/safetensors.hpp"

namespace cap::prune {

std::string StageRecord::tensor_name(int stage, const char* kind) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "stage_%02d.%s", stage, kind);
    return buf;
}

void StageRecord::restore(int stage) {
    auto keep = [&](const char* file) {
        const auto path = dir_ / file;
        auto saved = model::read_safetensors(path);
        std::map<std::string, at::Tensor> by_name(saved.tensors.begin(), saved.tensors.end());
        std::vector<std::pair<std::string, at::Tensor>> kept;
        for (int k = 0; k <= stage; ++k)
            for (const char* kind : {"heads", "ffn"}) {
                auto it = by_name.find(tensor_name(k, kind));
                if (it == by_name.end()) throw std::runtime_error(path.string() + " has no " + tensor_name(k, kind));
                kept.emplace_back(it->first, it->second);
            }
        return kept;
    };
    auto importance = keep("importance.safetensors");
    masks_ = keep("masks.safetensors");
    importance_ = std::move(importance);
}

void StageRecord::add(int stage, const at::Tensor& head_importance, const at::Tensor& ffn_importance,
                      const at::Tensor& head_mask, const at::Tensor& ffn_mask) {
    auto cpu = [](const at::Tensor& t) { return t.detach().to(at::kCPU).to(at::kFloat).contiguous(); };
    importance_.emplace_back(tensor_name(stage, "heads"), cpu(head_importance));
    importance_.emplace_back(tensor_name(stage, "ffn"), cpu(ffn_importance));
    masks_.emplace_back(tensor_name(stage, "heads"), cpu(head_mask));
    masks_.emplace_back(tensor_name(stage, "ffn"), cpu(ffn_mask));
    const std::map<std::string, std::string> meta{{"stages", std::to_string(masks_.size() / 2)}};
    model::write_safetensors(dir_ / "importance.safetensors", importance_, meta);
    model::write_safetensors(dir_ / "masks.safetensors", masks_, meta);
}

}  // namespace cap::prune
