// hf/: Hugging Face files read without LibTorch — the safetensors container, config.json, and
// the built-in model shapes.
#include <doctest/doctest.h>

#include <cstring>

#include "hf/builtin_models.hpp"
#include "hf/safetensors_format.hpp"
#include "support/process.hpp"

namespace fs = std::filesystem;

namespace {

// A safetensors file with `header` as its JSON and `data_bytes` bytes of zeros after it.
fs::path write_raw(const fs::path& file, const std::string& header, size_t data_bytes) {
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    bytes += header;
    bytes.append(data_bytes, '\0');
    return cap::test::write_text(file, bytes);
}

}  // namespace

TEST_CASE("hf: safetensors round trip, and a header read alone") {
    const fs::path dir = cap::test::scratch_dir("hf_safetensors");
    const float f32[3] = {1.5f, -2.0f, 0.0f};
    const uint16_t f16[3] = {0x3C00, 0xC000, 0x0001};  // 1, -2, the smallest subnormal
    const uint16_t bf16[2] = {0x3F80, 0xBF00};         // 1, -0.5
    const uint8_t u8[4] = {0, 1, 1, 0};
    const std::string bytes = cap::hf::encode_safetensors({{"a", "F32", {3}, f32, sizeof(f32)},
                                                           {"b", "F16", {3}, f16, sizeof(f16)},
                                                           {"c", "BF16", {2, 1}, bf16, sizeof(bf16)},
                                                           {"d", "U8", {2, 2}, u8, sizeof(u8)}},
                                                          {{"format", "pt"}});
    const fs::path file = cap::test::write_text(dir / "t.safetensors", bytes);

    const auto header = cap::hf::read_safetensors_header(file);
    REQUIRE(header.entries.size() == 4);
    CHECK(header.entries[2].name == "c");
    CHECK(header.entries[2].shape == std::vector<int64_t>{2, 1});
    CHECK(header.metadata.at("format") == "pt");
    CHECK(header.data_offset % 8 == 0);  // data stays 8-byte aligned

    const auto all = cap::hf::read_safetensors_bytes(file);
    CHECK(cap::hf::safetensors_floats(all, *all.find("a")) == std::vector<float>{1.5f, -2.0f, 0.0f});
    const auto b = cap::hf::safetensors_floats(all, *all.find("b"));
    CHECK(b[0] == 1.0f);
    CHECK(b[1] == -2.0f);
    CHECK(b[2] == doctest::Approx(5.96046448e-8f));
    CHECK(cap::hf::safetensors_floats(all, *all.find("c")) == std::vector<float>{1.0f, -0.5f});
    CHECK(cap::hf::safetensors_floats(all, *all.find("d")) == std::vector<float>{0, 1, 1, 0});
}

TEST_CASE("hf: a safetensors header whose tensors overlap or leave the data is refused, naming the file") {
    const fs::path dir = cap::test::scratch_dir("hf_safetensors_bad");
    const auto overlap = write_raw(dir / "overlap.safetensors",
                                   R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                   12);
    CHECK_THROWS_WITH(cap::hf::read_safetensors_header(overlap),
                      doctest::Contains((overlap.string() + ": not a valid safetensors file: tensors 'x' and 'y' "
                                                            "share bytes")
                                            .c_str()));
    const auto outside =
        write_raw(dir / "outside.safetensors", R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8);
    CHECK_THROWS_WITH(cap::hf::read_safetensors_header(outside), doctest::Contains("lies outside the 8 bytes"));
    const auto count =
        write_raw(dir / "count.safetensors", R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
    CHECK_THROWS_WITH(cap::hf::read_safetensors_header(count), doctest::Contains("8 bytes for 3 elements of F32"));
    const auto huge = write_raw(dir / "huge.safetensors",
                                R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8);
    CHECK_THROWS_WITH(cap::hf::read_safetensors_header(huge), doctest::Contains("larger than the whole file"));
    // One dimension whose byte count would wrap around 64 bits to 0.
    const auto wraps = write_raw(dir / "wraps.safetensors",
                                 R"({"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", 8);
    CHECK_THROWS_WITH(cap::hf::read_safetensors_header(wraps), doctest::Contains("larger than the whole file"));
    CHECK_THROWS_WITH(cap::hf::read_safetensors_header(dir), doctest::Contains("is a folder"));
}

TEST_CASE("hf: the built-in models are named in one place") {
    for (const auto& name : cap::hf::builtin_model_names()) {
        CAPTURE(name);
        CHECK(cap::hf::is_builtin_model(name));
        CHECK(cap::hf::builtin_config(name).has_value());
    }
    CHECK(cap::hf::builtin_config("builtin:bert-tiny")->num_hidden_layers == 2);
    CHECK(cap::hf::builtin_config("builtin:bert-base")->intermediate_size == 3072);
    CHECK_FALSE(cap::hf::builtin_config("builtin:gpt"));
    CHECK_FALSE(cap::hf::is_builtin_model("bert-base-uncased"));
}
