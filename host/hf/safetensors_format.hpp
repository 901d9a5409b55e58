// The safetensors container without LibTorch: an 8-byte little-endian header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the
// raw little-endian data. model/safetensors turns entries into tensors; the report reads masks
// through it directly. Every inconsistency (truncated file, offsets outside the data, tensors
// that overlap, a byte count that does not match the shape) is an error naming the file and
// the tensor, never a crash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace cap::hf {

// "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"; 0 for any other name.
size_t safetensors_element_size(const std::string& dtype);

struct SafetensorsEntry {
    std::string name;
    std::string dtype;  // as the file spells it
    std::vector<int64_t> shape;
    uint64_t numel = 0;
    uint64_t begin = 0, end = 0;  // byte range within the data section
};

struct SafetensorsHeader {
    std::vector<SafetensorsEntry> entries;  // in data order
    std::map<std::string, std::string> metadata;
    uint64_t data_offset = 0;  // 8 + N: where the data section starts in the file
    uint64_t data_size = 0;
};

// Parses and checks `header_json` against a data section of `data_size` bytes. Throws
// std::runtime_error "<file>: not a valid safetensors file: ...".
SafetensorsHeader parse_safetensors_header(std::string_view header_json, uint64_t data_size, const std::string& file);

// Reads and checks only the header of `file`: cheap, so `cap validate` checks a model's weights
// before any training.
SafetensorsHeader read_safetensors_header(const std::filesystem::path& file);

// A whole file in memory.
struct SafetensorsBytes {
    SafetensorsHeader header;
    std::vector<char> bytes;
    const char* data(const SafetensorsEntry& e) const { return bytes.data() + header.data_offset + e.begin; }
    const SafetensorsEntry* find(const std::string& name) const;
};
SafetensorsBytes read_safetensors_bytes(const std::filesystem::path& file);

// An entry's values as floats, whatever its dtype (floating point, integer or bool).
std::vector<float> safetensors_floats(const SafetensorsBytes& file, const SafetensorsEntry& entry);

// One tensor to write: contiguous little-endian bytes of `dtype`.
struct SafetensorsBlob {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    const void* data = nullptr;
    size_t size = 0;  // bytes
};

// The whole file as bytes, data 8-byte aligned, tensors in the order given, `metadata` in the
// header (callers add Hugging Face's "format": "pt").
std::string encode_safetensors(const std::vector<SafetensorsBlob>& tensors,
                               const std::map<std::string, std::string>& metadata);

}  // namespace cap::hf
