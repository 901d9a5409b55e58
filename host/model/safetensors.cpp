#include "model/safetensors.hpp"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "util/atomic_file.hpp"

namespace cap::model {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace {

struct DtypeInfo {
    const char* name;
    at::ScalarType type;
    size_t bytes;
};

const DtypeInfo kDtypes[] = {
    {"F32", at::kFloat, 4}, {"F16", at::kHalf, 2},  {"BF16", at::kBFloat16, 2}, {"F64", at::kDouble, 8},
    {"I64", at::kLong, 8},  {"I32", at::kInt, 4},   {"I16", at::kShort, 2},     {"I8", at::kChar, 1},
    {"U8", at::kByte, 1},   {"BOOL", at::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
    for (const auto& d : kDtypes)
        if (name == d.name) return &d;
    return nullptr;
}

const DtypeInfo* dtype_by_type(at::ScalarType type) {
    for (const auto& d : kDtypes)
        if (type == d.type) return &d;
    return nullptr;
}

}  // namespace

SafetensorsFile read_safetensors(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto fail = [&](const std::string& why) -> std::runtime_error {
        return std::runtime_error(file + ": not a valid safetensors file: " + why);
    };
    if (bytes.size() < 8) throw fail("shorter than its 8-byte header length");
    uint64_t header_size = 0;
    std::memcpy(&header_size, bytes.data(), 8);
    if (header_size > bytes.size() - 8) throw fail("header length " + std::to_string(header_size) + " runs past the end");
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_size));
    } catch (const std::exception& e) {
        throw fail(std::string("header is not JSON (") + e.what() + ")");
    }
    if (!header.is_object()) throw fail("header is not a JSON object");
    const size_t data_start = 8 + header_size;
    const size_t data_size = bytes.size() - data_start;

    SafetensorsFile out;
    std::vector<std::pair<uint64_t, std::pair<std::string, at::Tensor>>> ordered;
    for (auto& [name, info] : header.items()) {
        if (name == "__metadata__") {
            if (info.is_object())
                for (auto& [k, v] : info.items())
                    if (v.is_string()) out.metadata[k] = v.get<std::string>();
            continue;
        }
        const std::string what = "tensor '" + name + "'";
        if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
            throw fail(what + " lacks dtype, shape or data_offsets");
        const DtypeInfo* dtype = info["dtype"].is_string() ? dtype_by_name(info["dtype"].get<std::string>()) : nullptr;
        if (!dtype) throw fail(what + " has unsupported dtype " + info["dtype"].dump());
        std::vector<int64_t> shape;
        uint64_t numel = 1;
        for (const auto& d : info["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0) throw fail(what + " has an invalid shape");
            shape.push_back(d.get<int64_t>());
            numel *= static_cast<uint64_t>(shape.back());
        }
        const auto& offsets = info["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
            throw fail(what + " has invalid data_offsets");
        const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
        if (begin > end || end > data_size)
            throw fail(what + " data [" + std::to_string(begin) + ", " + std::to_string(end) + ") lies outside the " +
                       std::to_string(data_size) + " bytes of data (truncated file?)");
        if (end - begin != numel * dtype->bytes)
            throw fail(what + " has " + std::to_string(end - begin) + " bytes for " + std::to_string(numel) +
                       " elements of " + dtype->name);
        at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype->type));
        if (numel) std::memcpy(t.data_ptr(), bytes.data() + data_start + begin, end - begin);
        if (t.is_floating_point() && t.scalar_type() != at::kFloat) t = t.to(at::kFloat);
        ordered.push_back({begin, {name, t}});
    }
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& o : ordered) out.tensors.push_back(std::move(o.second));
    return out;
}

void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       std::map<std::string, std::string> metadata) {
    metadata.emplace("format", "pt");
    nlohmann::ordered_json header;
    header["__metadata__"] = metadata;
    std::vector<at::Tensor> contiguous;
    uint64_t offset = 0;
    for (const auto& [name, tensor] : tensors) {
        at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
        const DtypeInfo* dtype = dtype_by_type(t.scalar_type());
        if (!dtype) throw std::runtime_error("cannot write tensor '" + name + "' of dtype " + std::string(c10::toString(t.scalar_type())));
        const uint64_t size = static_cast<uint64_t>(t.numel()) * dtype->bytes;
        header[name] = {{"dtype", dtype->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + size}}};
        offset += size;
        contiguous.push_back(t);
    }
    std::string head = header.dump();
    head.append((8 - head.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
    std::string out;
    out.reserve(8 + head.size() + offset);
    const uint64_t head_size = head.size();
    out.append(reinterpret_cast<const char*>(&head_size), 8);
    out += head;
    for (const auto& t : contiguous)
        out.append(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * t.element_size());
    util::write_file_atomic(file, out);
}

}  // namespace cap::model
