#include "hf/safetensors_format.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "util/error_text.hpp"

namespace cap::hf {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

namespace {

std::runtime_error invalid(const std::string& file, const std::string& why) {
    return std::runtime_error(file + ": not a valid safetensors file: " + why);
}

float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff, bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf or NaN
    } else if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int shift = 0;
            while (!(mantissa & 0x400)) {
                mantissa <<= 1;
                ++shift;
            }
            bits = sign | uint32_t(127 - 15 - shift + 1) << 23 | ((mantissa & 0x3ff) << 13);
        }
    } else {
        bits = sign | (exponent + 127 - 15) << 23 | (mantissa << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

template <class T>
void append_as_floats(const char* p, uint64_t n, std::vector<float>& out) {
    for (uint64_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, p + i * sizeof(T), sizeof(T));
        out.push_back(static_cast<float>(v));
    }
}

}  // namespace

size_t safetensors_element_size(const std::string& dtype) {
    static const std::pair<const char*, size_t> sizes[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8},
                                                           {"I64", 8}, {"I32", 4}, {"I16", 2},  {"I8", 1},
                                                           {"U8", 1},  {"BOOL", 1}};
    for (const auto& [name, size] : sizes)
        if (dtype == name) return size;
    return 0;
}

SafetensorsHeader parse_safetensors_header(std::string_view header_json, uint64_t data_size, const std::string& file) {
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(header_json.begin(), header_json.end());
    } catch (const std::exception& e) {
        throw invalid(file, "header is not JSON (" + util::error_text(e) + ")");
    }
    if (!header.is_object()) throw invalid(file, "header is not a JSON object");
    SafetensorsHeader out;
    out.data_offset = 8 + header_json.size();
    out.data_size = data_size;
    for (auto& [name, info] : header.items()) {
        if (name == "__metadata__") {
            if (info.is_object())
                for (auto& [k, v] : info.items())
                    if (v.is_string()) out.metadata[k] = v.get<std::string>();
            continue;
        }
        const std::string what = "tensor '" + name + "'";
        if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
            throw invalid(file, what + " lacks dtype, shape or data_offsets");
        SafetensorsEntry e;
        e.name = name;
        e.dtype = info["dtype"].is_string() ? info["dtype"].get<std::string>() : "";
        const size_t element = safetensors_element_size(e.dtype);
        if (!element) throw invalid(file, what + " has unsupported dtype " + info["dtype"].dump());
        if (!info["shape"].is_array()) throw invalid(file, what + " has an invalid shape");
        for (const auto& d : info["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0) throw invalid(file, what + " has an invalid shape");
            e.shape.push_back(d.get<int64_t>());
        }
        // A tensor with elements has at most data_size of them: checking each factor against
        // that bound keeps the product (and the byte count below) from overflowing.
        const bool empty = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
        e.numel = empty ? 0 : 1;
        for (size_t i = 0; !empty && i < e.shape.size(); ++i) {
            const auto dim = static_cast<uint64_t>(e.shape[i]);
            if (e.numel > data_size / dim) throw invalid(file, what + " has a shape larger than the whole file");
            e.numel *= dim;
        }
        const auto& offsets = info["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned())
            throw invalid(file, what + " has invalid data_offsets");
        e.begin = offsets[0].get<uint64_t>();
        e.end = offsets[1].get<uint64_t>();
        if (e.begin > e.end || e.end > data_size)
            throw invalid(file, what + " data [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                    ") lies outside the " + std::to_string(data_size) +
                                    " bytes of data (truncated file?)");
        if (e.end - e.begin != e.numel * element)
            throw invalid(file, what + " has " + std::to_string(e.end - e.begin) + " bytes for " +
                                    std::to_string(e.numel) + " elements of " + e.dtype);
        out.entries.push_back(std::move(e));
    }
    std::sort(out.entries.begin(), out.entries.end(),
              [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.begin < b.begin; });
    for (size_t i = 1; i < out.entries.size(); ++i)
        if (out.entries[i].begin < out.entries[i - 1].end)
            throw invalid(file, "tensors '" + out.entries[i - 1].name + "' and '" + out.entries[i].name +
                                    "' share bytes (overlapping data_offsets)");
    return out;
}

namespace {

// The header length and JSON of an open file of `file_size` bytes.
std::string read_header_json(std::ifstream& in, uint64_t file_size, const std::string& file) {
    if (file_size < 8) throw invalid(file, "shorter than its 8-byte header length");
    uint64_t header_size = 0;
    in.read(reinterpret_cast<char*>(&header_size), 8);
    if (!in) throw std::runtime_error("cannot read " + file);
    if (header_size > file_size - 8)
        throw invalid(file, "header length " + std::to_string(header_size) + " runs past the end");
    std::string json(static_cast<size_t>(header_size), '\0');
    in.read(json.data(), static_cast<std::streamsize>(header_size));
    if (!in) throw std::runtime_error("cannot read " + file);
    return json;
}

std::ifstream open_file(const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw std::runtime_error(path.string() + " is a folder, not a safetensors file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return in;
}

}  // namespace

SafetensorsHeader read_safetensors_header(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::ifstream in = open_file(path);
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) throw std::runtime_error("cannot read " + file + ": " + ec.message());
    const std::string json = read_header_json(in, size, file);
    return parse_safetensors_header(json, size - 8 - json.size(), file);
}

const SafetensorsEntry* SafetensorsBytes::find(const std::string& name) const {
    for (const auto& e : header.entries)
        if (e.name == name) return &e;
    return nullptr;
}

SafetensorsBytes read_safetensors_bytes(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::ifstream in = open_file(path);
    SafetensorsBytes out;
    out.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (out.bytes.size() < 8) throw invalid(file, "shorter than its 8-byte header length");
    uint64_t header_size = 0;
    std::memcpy(&header_size, out.bytes.data(), 8);
    if (header_size > out.bytes.size() - 8)
        throw invalid(file, "header length " + std::to_string(header_size) + " runs past the end");
    out.header = parse_safetensors_header(std::string_view(out.bytes.data() + 8, static_cast<size_t>(header_size)),
                                          out.bytes.size() - 8 - header_size, file);
    return out;
}

std::vector<float> safetensors_floats(const SafetensorsBytes& file, const SafetensorsEntry& e) {
    std::vector<float> out;
    out.reserve(static_cast<size_t>(e.numel));
    const char* p = file.data(e);
    if (e.dtype == "F32")
        append_as_floats<float>(p, e.numel, out);
    else if (e.dtype == "F64")
        append_as_floats<double>(p, e.numel, out);
    else if (e.dtype == "I64")
        append_as_floats<int64_t>(p, e.numel, out);
    else if (e.dtype == "I32")
        append_as_floats<int32_t>(p, e.numel, out);
    else if (e.dtype == "I16")
        append_as_floats<int16_t>(p, e.numel, out);
    else if (e.dtype == "I8")
        append_as_floats<int8_t>(p, e.numel, out);
    else if (e.dtype == "U8" || e.dtype == "BOOL")
        append_as_floats<uint8_t>(p, e.numel, out);
    else if (e.dtype == "F16" || e.dtype == "BF16") {
        for (uint64_t i = 0; i < e.numel; ++i) {
            uint16_t v;
            std::memcpy(&v, p + 2 * i, 2);
            if (e.dtype == "F16") {
                out.push_back(half_to_float(v));
            } else {
                const uint32_t bits = uint32_t(v) << 16;
                float f;
                std::memcpy(&f, &bits, 4);
                out.push_back(f);
            }
        }
    }
    return out;
}

std::string encode_safetensors(const std::vector<SafetensorsBlob>& tensors,
                               const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header;
    header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (const auto& t : tensors) {
        header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.size}}};
        offset += t.size;
    }
    std::string head = header.dump();
    head.append((8 - head.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
    std::string out;
    out.reserve(8 + head.size() + offset);
    const uint64_t head_size = head.size();
    out.append(reinterpret_cast<const char*>(&head_size), 8);
    out += head;
    for (const auto& t : tensors) out.append(static_cast<const char*>(t.data), t.size);
    return out;
}

}  // namespace cap::hf
