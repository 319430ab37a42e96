// Row codecs of GGUF's block-quantized types against llama.cpp: dequantization of every quantized tensor of the
// GGUF fixtures (gguf-py's rows and full-tensor checksums), quantization of the BF16 weights against the bytes
// llama-quantize wrote, round trips on random data for every type, and the whole-blocks check.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "error_of.h"
#include "io/safetensors.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::error_of;

const fs::path kGguf = fs::path(WHALE_FIXTURES_DIR) / "gguf";
constexpr DType kBlockTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,   DType::Q8_1,
                                 DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K, DType::IQ4_NL, DType::IQ4_XS};

DType dtype_named(const std::string& name) {
  for (int i = 0; i <= int(DType::IQ4_XS); ++i) {
    if (dtype_name(DType(i)) == name) return DType(i);
  }
  ADD_FAILURE() << "unknown tensor type " << name;
  return DType::F32;
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

// One tensor of a fixture GGUF, as its meta.json lists it (offset: absolute file offset of the data).
struct GgufTensor {
  std::string name;
  DType dtype;
  int64_t ne0, numel;
  size_t offset, n_bytes;
  json dequant;  // checksums of gguf-py's full dequantization
};

std::vector<GgufTensor> tensors_of(const fs::path& dir) {
  const json meta = read_json(dir / "meta.json");
  std::vector<GgufTensor> out;
  for (const json& t : meta["tensors"]) {
    int64_t numel = 1;
    for (int64_t n : t["ne"]) numel *= n;
    out.push_back({t["name"], dtype_named(t["type"]), t["ne"][0], numel, t["offset"], t["n_bytes"], t["dequant"]});
  }
  return out;
}

// The raw bytes of a tensor, straight from its .gguf file (gguf/<model>/<TYPE>/<model>-<TYPE>.gguf).
std::vector<uint8_t> read_tensor(const fs::path& dir, const GgufTensor& t) {
  const fs::path file = dir / (dir.parent_path().filename().string() + "-" + dir.filename().string() + ".gguf");
  std::ifstream in(file, std::ios::binary);
  in.seekg(std::streamoff(t.offset));
  std::vector<uint8_t> bytes(t.n_bytes);
  in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()));
  EXPECT_TRUE(in) << file << ": cannot read " << t.name;
  return bytes;
}

std::vector<float> dequantize(DType dtype, const std::vector<uint8_t>& bytes, int64_t numel) {
  std::vector<float> values(static_cast<size_t>(numel));
  dtype_traits(dtype).dequantize_row(bytes.data(), values.data(), numel);
  return values;
}

std::vector<uint8_t> quantize(DType dtype, const std::vector<float>& values) {
  std::vector<uint8_t> bytes(dtype_nbytes(dtype, int64_t(values.size())));
  dtype_traits(dtype).quantize_row(values.data(), bytes.data(), int64_t(values.size()));
  return bytes;
}

// Every quantized fixture GGUF: gguf/<model>/<TYPE>/ with a dequant.safetensors (all but BF16).
std::vector<std::string> quantized_fixtures() {
  std::vector<std::string> out;
  for (const fs::path model : {"ds3", "qwen2", "llama"}) {
    std::error_code ec;  // no fixtures: no cases (test discovery must not throw)
    for (const auto& e : fs::directory_iterator(kGguf / model, ec)) {
      if (fs::exists(e.path() / "dequant.safetensors")) out.push_back((model / e.path().filename()).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class QuantFixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path dir() const { return kGguf / GetParam(); }
};

// meta.json's checksums of a full dequantization, in f64.
void expect_checksums(const std::vector<float>& values, const json& want) {
  double sum = 0, sum_abs = 0, sum_sq = 0, max_abs = 0;
  for (double v : values) {
    sum += v, sum_abs += std::fabs(v), sum_sq += v * v;
    max_abs = std::max(max_abs, std::fabs(v));
  }
  const std::pair<const char*, double> got[] = {{"sum", sum},         {"sum_abs", sum_abs},
                                                {"sum_sq", sum_sq},   {"max_abs", max_abs},
                                                {"first", values[0]}, {"last", values.back()}};
  for (const auto& [key, value] : got) {
    const double w = want[key];
    EXPECT_LE(std::fabs(value - w), 1e-9 * std::fabs(w)) << key << ": " << value << " vs " << w;
  }
}

TEST_P(QuantFixtureTest, DequantizeMatchesGgufPy) {
  const TensorStore ref = TensorStore::open(dir() / "dequant.safetensors");
  int checked = 0;
  for (const GgufTensor& t : tensors_of(dir())) {
    if (!is_block_quantized(t.dtype)) continue;
    SCOPED_TRACE(t.name + " (" + std::string(dtype_name(t.dtype)) + ")");
    ASSERT_EQ(dtype_nbytes(t.dtype, t.numel), t.n_bytes);
    const std::vector<float> values = dequantize(t.dtype, read_tensor(dir(), t), t.numel);
    const std::vector<float> rows = ref.get(t.name).f32_values();
    const std::vector<int64_t> row_ids = ref.get(t.name + ".rows").i64_values();
    ASSERT_EQ(rows.size(), row_ids.size() * size_t(t.ne0));
    for (size_t k = 0; k < row_ids.size(); ++k) {
      const float* want = rows.data() + k * size_t(t.ne0);
      const float* got = values.data() + size_t(row_ids[k] * t.ne0);
      int64_t differ = 0;
      for (int64_t j = 0; j < t.ne0; ++j) differ += got[j] != want[j];
      EXPECT_EQ(differ, 0) << "row " << row_ids[k];
    }
    expect_checksums(values, t.dequant);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s / double(a.size()));
}

// llama-quantize made each quantized file from the model's BF16 file without an importance matrix: quantizing
// the same values gives its bytes, for every tensor of every type.
TEST_P(QuantFixtureTest, QuantizeMatchesLlamaQuantize) {
  const fs::path bf16_dir = dir().parent_path() / "BF16";
  std::map<std::string, GgufTensor> sources;
  for (const GgufTensor& t : tensors_of(bf16_dir)) sources.emplace(t.name, t);
  std::map<std::string, std::pair<int, int>> exact;  // type → (bit-exact tensors, tensors)
  for (const GgufTensor& t : tensors_of(dir())) {
    if (!is_block_quantized(t.dtype)) continue;
    SCOPED_TRACE(t.name + " (" + std::string(dtype_name(t.dtype)) + ")");
    const GgufTensor& src = sources.at(t.name);
    ASSERT_EQ(src.dtype, DType::BF16);
    ASSERT_EQ(src.numel, t.numel);
    const std::vector<float> weights = dequantize(DType::BF16, read_tensor(bf16_dir, src), src.numel);
    const std::vector<uint8_t> want = read_tensor(dir(), t), got = quantize(t.dtype, weights);
    auto& [n_exact, n_all] = exact[std::string(dtype_name(t.dtype))];
    ++n_all;
    if (got == want) {
      ++n_exact;
      continue;
    }
    const size_t first = size_t(std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin());
    ADD_FAILURE() << "bytes differ from block " << first / dtype_traits(t.dtype).block_bytes << "; rmse "
                  << rmse(dequantize(t.dtype, got, t.numel), weights) << ", llama.cpp's "
                  << rmse(dequantize(t.dtype, want, t.numel), weights);
  }
  for (const auto& [type, n] : exact) {
    std::printf("[%s] %s: %d of %d tensors bit-exact\n", GetParam().c_str(), type.c_str(), n.first, n.second);
  }
}

INSTANTIATE_TEST_SUITE_P(QuantGguf, QuantFixtureTest, ::testing::ValuesIn(quantized_fixtures()),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '/', '_');
                           return name;
                         });

// ----------------------------------------------------------------------------------------------- random data

int code_bits(DType dtype) {
  switch (dtype) {
    case DType::Q5_0: case DType::Q5_1: case DType::Q5_K: return 5;
    case DType::Q6_K: return 6;
    case DType::Q8_0: case DType::Q8_1: case DType::Q8_K: return 8;
    default: return 4;  // Q4_*, and the 16-entry IQ4 codebook
  }
}

// n_blocks blocks of normal values whose scale changes from block to block (by e^N(0,1)), then a zero block, a
// constant one, an all-positive one, and one outlier among small values.
std::vector<float> test_values(int64_t block, int n_blocks, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> x;
  for (int b = 0; b < n_blocks; ++b) {
    const float scale = std::exp(normal(rng));
    for (int64_t j = 0; j < block; ++j) x.push_back(scale * normal(rng));
  }
  x.insert(x.end(), size_t(block), 0.0f);
  x.insert(x.end(), size_t(block), 0.37f);
  for (int64_t j = 0; j < block; ++j) x.push_back(1.0f + std::fabs(normal(rng)));
  for (int64_t j = 0; j < block; ++j) x.push_back(j == block / 3 ? -50.0f : 0.01f * normal(rng));
  return x;
}

class QuantRoundTripTest : public ::testing::TestWithParam<DType> {};

// Every value comes back within one step of a uniform grid with the type's number of codes spanning the block's
// [−max|x|, max|x|] (worst seen: 0.9 step, at the clamped top code of Q4_0 / Q5_0); a zero block as zeros.
TEST_P(QuantRoundTripTest, ErrorWithinOneStep) {
  const DType dtype = GetParam();
  const size_t block = size_t(dtype_traits(dtype).block_elems);
  const std::vector<float> x = test_values(int64_t(block), 64, 7);
  const std::vector<float> y = dequantize(dtype, quantize(dtype, x), int64_t(x.size()));
  for (size_t b = 0; b < x.size(); b += block) {
    float amax = 0, err = 0;
    for (size_t j = b; j < b + block; ++j) {
      amax = std::max(amax, std::fabs(x[j]));
      err = std::max(err, std::fabs(x[j] - y[j]));
    }
    const float step = 2 * amax / float((1 << code_bits(dtype)) - 1);
    EXPECT_LE(err, step) << "block " << b / block << ", max |x| " << amax;
  }
}

INSTANTIATE_TEST_SUITE_P(QuantTypes, QuantRoundTripTest, ::testing::ValuesIn(kBlockTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

// Q8_0's values are a fixed point: quantizing its own output gives the same bytes.
TEST(QuantQ8_0Test, RequantizingTheDequantizedValuesGivesTheSameBytes) {
  const std::vector<float> x = test_values(32, 64, 11);
  const std::vector<uint8_t> q = quantize(DType::Q8_0, x);
  EXPECT_EQ(quantize(DType::Q8_0, dequantize(DType::Q8_0, q, int64_t(x.size()))), q);
}

// The activation types' sums: Q8_1's s = d·Σq (d before its f16 rounding), Q8_K's bsums = Σq per 16.
TEST(QuantActivationTest, BlockSumsMatchTheCodes) {
  const std::vector<float> x = test_values(256, 4, 13);
  const std::vector<uint8_t> q8_1 = quantize(DType::Q8_1, x);
  for (size_t b = 0; b < q8_1.size() / sizeof(quant::BlockQ8_1); ++b) {
    quant::BlockQ8_1 block;
    std::memcpy(&block, q8_1.data() + b * sizeof(block), sizeof(block));
    int sum = 0;
    for (int8_t v : block.qs) sum += v;
    const float want = float(sum) * f16_to_f32(block.d), s = f16_to_f32(block.s);  // s rounds d·Σq to f16
    EXPECT_NEAR(s, want, std::ldexp(std::fabs(want), -10)) << "block " << b;
  }
  const std::vector<uint8_t> q8_k = quantize(DType::Q8_K, x);
  for (size_t b = 0; b < q8_k.size() / sizeof(quant::BlockQ8_K); ++b) {
    quant::BlockQ8_K block;
    std::memcpy(&block, q8_k.data() + b * sizeof(block), sizeof(block));
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += block.qs[16 * g + j];
      EXPECT_EQ(int(block.bsums[g]), sum) << "block " << b << " group " << g;
    }
  }
}

// ------------------------------------------------------------------------------------------------ failures

TEST(QuantBlocksTest, SizesNeedWholeBlocks) {
  for (DType dtype : kBlockTypes) {
    const DTypeTraits& t = dtype_traits(dtype);
    EXPECT_EQ(dtype_nbytes(dtype, 3 * t.block_elems), 3 * t.block_bytes) << t.name;
    EXPECT_EQ(dtype_nbytes(dtype, 0), 0u) << t.name;
    for (int64_t n : {t.block_elems + 1, t.block_elems - 1, -t.block_elems}) {
      const std::string message = error_of([&] { dtype_nbytes(dtype, n); });
      EXPECT_NE(message.find(std::string(t.name)), std::string::npos) << message;
      EXPECT_NE(message.find(std::to_string(t.block_elems)), std::string::npos) << message;
    }
  }
}

// Block scales are f16 rounded to nearest, ties to even (ggml's conversion).
TEST(QuantBlocksTest, ScalesRoundToNearestEvenF16) {
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);    // halfway between 1 and 1 + 2^-10: to the even 1
  EXPECT_EQ(f32_to_f16(1.0f + 0x3p-11f), 0x3c02);    // halfway between 1 + 2^-10 and 1 + 2^-9: up, to even
  EXPECT_EQ(f32_to_f16(1.0f + 0x1.2p-11f), 0x3c01);  // above halfway
  EXPECT_EQ(f32_to_f16(-1.0f - 0x1p-11f), 0xbc00);
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);           // subnormal ties: 0 and 2·2^-24
  EXPECT_EQ(f32_to_f16(0x3p-25f), 0x0002);
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);           // the largest finite, and the tie above it to infinity
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);
}

}  // namespace
}  // namespace whale
