// Reading a `torch.save` zip archive of a state dict (pytorch_model.bin).
//
// LibTorch 1.13's torch::pickle_load cannot read these files: it fails on the
// collections.OrderedDict with a `_metadata` attribute that every nn.Module.state_dict() carries.
// So cap reads the zip with LibTorch's PyTorchStreamReader and interprets the pickle itself,
// supporting exactly what state dicts use (OrderedDict, _rebuild_tensor_v2, _rebuild_parameter,
// typed storages) and rejecting anything else with a clear error: a .bin file can carry
// arbitrary pickled code, and this reader never executes any.
#pragma once

#include <ATen/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace cap::model {

// Tensors in file order, floating types converted to float32. Throws std::runtime_error naming
// the file on anything unreadable.
std::vector<std::pair<std::string, at::Tensor>> read_torch_state_dict(const std::filesystem::path& file);

}  // namespace cap::model
