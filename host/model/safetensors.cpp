#include "model/safetensors.hpp"

#include <ATen/ATen.h>

#include <cstring>
#include <stdexcept>

#include "hf/safetensors_format.hpp"
#include "util/atomic_file.hpp"

namespace cap::model {

namespace {

struct DtypeName {
    const char* name;
    at::ScalarType type;
};

const DtypeName kDtypes[] = {
    {"F32", at::kFloat}, {"F16", at::kHalf},  {"BF16", at::kBFloat16}, {"F64", at::kDouble}, {"I64", at::kLong},
    {"I32", at::kInt},   {"I16", at::kShort}, {"I8", at::kChar},       {"U8", at::kByte},    {"BOOL", at::kBool},
};

at::ScalarType type_of(const std::string& name) {
    for (const auto& d : kDtypes)
        if (name == d.name) return d.type;
    throw std::logic_error("safetensors dtype " + name + " has no LibTorch type");
}

const char* name_of(at::ScalarType type) {
    for (const auto& d : kDtypes)
        if (type == d.type) return d.name;
    return nullptr;
}

}  // namespace

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
    const hf::SafetensorsBytes file = hf::read_safetensors_bytes(path);
    SafetensorsFile out;
    out.metadata = file.header.metadata;
    for (const auto& e : file.header.entries) {
        at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(type_of(e.dtype)));
        if (e.numel) std::memcpy(t.data_ptr(), file.data(e), e.end - e.begin);
        if (t.is_floating_point() && t.scalar_type() != at::kFloat) t = t.to(at::kFloat);
        out.tensors.emplace_back(e.name, t);
    }
    return out;
}

void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       std::map<std::string, std::string> metadata) {
    metadata.emplace("format", "pt");
    std::vector<at::Tensor> contiguous;
    std::vector<hf::SafetensorsBlob> blobs;
    for (const auto& [name, tensor] : tensors) {
        at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
        const char* dtype = name_of(t.scalar_type());
        if (!dtype)
            throw std::runtime_error("cannot write tensor '" + name + "' of dtype " +
                                     std::string(c10::toString(t.scalar_type())));
        blobs.push_back(
            {name, dtype, t.sizes().vec(), t.data_ptr(), static_cast<size_t>(t.numel()) * t.element_size()});
        contiguous.push_back(t);
    }
    util::write_file_atomic(file, hf::encode_safetensors(blobs, metadata));
}

}  // namespace cap::model
