// Safetensors files as LibTorch tensors, on top of hf/safetensors_format (which checks the
// container). F32, F16, BF16 and F64 load as float32; I64/I32/I16/I8/U8/BOOL load as they are.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cap::model {

struct SafetensorsFile {
    std::vector<std::pair<std::string, at::Tensor>> tensors;  // in data order
    std::map<std::string, std::string> metadata;
};

SafetensorsFile read_safetensors(const std::filesystem::path& file);

// Writes float32/int64 tensors (contiguous copies are made) atomically, with `metadata` (the
// "format": "pt" entry Hugging Face requires is added).
void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       std::map<std::string, std::string> metadata = {});

}  // namespace cap::model
