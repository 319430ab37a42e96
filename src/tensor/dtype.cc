#include "tensor/dtype.h"

#include <array>
#include <cmath>
#include <cstring>
#include <iterator>

#include "core/error.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace whale {

namespace {

template <typename T, float (*Convert)(T)>
void dequantize_scalar(const void* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, static_cast<const char*>(src) + size_t(i) * sizeof(T), sizeof(T));
    dst[i] = Convert(v);
  }
}
template <typename T, T (*Convert)(float)>
void quantize_scalar(const float* src, void* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T v = Convert(src[i]);
    std::memcpy(static_cast<char*>(dst) + size_t(i) * sizeof(T), &v, sizeof(T));
  }
}
float f32_identity(float v) { return v; }

using namespace quant;

// Indexed by DType; ggml type ids from the GGUF specification.
constexpr DTypeTraits kTraits[] = {
    {"F32", 1, 4, 0, true, dequantize_scalar<float, f32_identity>, quantize_scalar<float, f32_identity>},
    {"BF16", 1, 2, 30, true, dequantize_scalar<uint16_t, bf16_to_f32>, quantize_scalar<uint16_t, f32_to_bf16>},
    {"F16", 1, 2, 1, true, dequantize_scalar<uint16_t, f16_to_f32>, quantize_scalar<uint16_t, f32_to_f16>},
    {"F8_E4M3", 1, 1, -1, true, dequantize_scalar<uint8_t, f8e4m3_to_f32>, nullptr},
    {"I64", 1, 8, 27, false, nullptr, nullptr},
    {"I32", 1, 4, 26, false, nullptr, nullptr},
    {"Q4_0", kBlock32, sizeof(BlockQ4_0), 2, true, dequantize_row_q4_0, quantize_row_q4_0},
    {"Q4_1", kBlock32, sizeof(BlockQ4_1), 3, true, dequantize_row_q4_1, quantize_row_q4_1},
    {"Q5_0", kBlock32, sizeof(BlockQ5_0), 6, true, dequantize_row_q5_0, quantize_row_q5_0},
    {"Q5_1", kBlock32, sizeof(BlockQ5_1), 7, true, dequantize_row_q5_1, quantize_row_q5_1},
    {"Q8_0", kBlock32, sizeof(BlockQ8_0), 8, true, dequantize_row_q8_0, quantize_row_q8_0},
    {"Q8_1", kBlock32, sizeof(BlockQ8_1), 9, true, dequantize_row_q8_1, quantize_row_q8_1},
    {"Q4_K", kBlockK, sizeof(BlockQ4_K), 12, true, dequantize_row_q4_k, quantize_row_q4_k},
    {"Q5_K", kBlockK, sizeof(BlockQ5_K), 13, true, dequantize_row_q5_k, quantize_row_q5_k},
    {"Q6_K", kBlockK, sizeof(BlockQ6_K), 14, true, dequantize_row_q6_k, quantize_row_q6_k},
    {"Q8_K", kBlockK, sizeof(BlockQ8_K), 15, true, dequantize_row_q8_k, quantize_row_q8_k},
    {"IQ4_NL", kBlock32, sizeof(BlockIQ4_NL), 20, true, dequantize_row_iq4_nl, quantize_row_iq4_nl},
    {"IQ4_XS", kBlockK, sizeof(BlockIQ4_XS), 23, true, dequantize_row_iq4_xs, quantize_row_iq4_xs},
};
constexpr size_t kNumDTypes = sizeof(kTraits) / sizeof(kTraits[0]);
static_assert(kNumDTypes == size_t(DType::IQ4_XS) + 1, "kTraits must list every DType in order");

// ggml's names of every GGUF type id (for messages about files whale cannot run); gaps are retired ids.
constexpr std::string_view kGgmlNames[] = {
    "F32",     "F16",   "Q4_0",   "Q4_1",  "Q4_2", "Q4_3",   "Q5_0",  "Q5_1",  "Q8_0",  "Q8_1",
    "Q2_K",    "Q3_K",  "Q4_K",   "Q5_K",  "Q6_K", "Q8_K",   "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
    "IQ4_NL",  "IQ3_S", "IQ2_S",  "IQ4_XS", "I8",  "I16",    "I32",   "I64",   "F64",   "IQ1_M",
    "BF16",    "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8",
    "IQ4_NL_8_8", "MXFP4"};

}  // namespace

const DTypeTraits& dtype_traits(DType dtype) {
  WHALE_CHECK(size_t(dtype) < kNumDTypes);
  return kTraits[size_t(dtype)];
}

size_t dtype_size(DType dtype) {
  WHALE_CHECK(!is_block_quantized(dtype));
  return dtype_traits(dtype).block_bytes;
}

size_t dtype_nbytes(DType dtype, int64_t n) {
  const DTypeTraits& t = dtype_traits(dtype);
  if (n < 0 || n % t.block_elems != 0)
    fail("{} holds blocks of {} elements; {} elements is not a whole number of blocks", t.name, t.block_elems, n);
  return size_t(n / t.block_elems) * t.block_bytes;
}

DType parse_dtype(std::string_view name, std::string_view what) {
  for (DType d : {DType::F32, DType::BF16, DType::F16, DType::F8E4M3, DType::I64, DType::I32})
    if (dtype_name(d) == name) return d;
  fail("{}: unsupported dtype '{}' (supported: F32, BF16, F16, F8_E4M3, I64, I32)", what, name);
}

std::optional<DType> dtype_from_ggml(uint32_t ggml_type) {
  for (size_t i = 0; i < kNumDTypes; ++i)
    if (kTraits[i].ggml_type >= 0 && uint32_t(kTraits[i].ggml_type) == ggml_type) return DType(i);
  return std::nullopt;
}

std::string ggml_type_name(uint32_t ggml_type) {
  if (ggml_type < std::size(kGgmlNames)) return std::string(kGgmlNames[ggml_type]);
  return "type " + std::to_string(ggml_type);
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    float f = std::ldexp(float(mant), -24);
    return sign ? -f : f;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00;
  if (a >= 65520.0f) return sign | 0x7c00;  // rounds to inf
  if (a < 6.103515625e-05f) {               // subnormal half: multiples of 2^-24
    return sign | uint16_t(std::nearbyint(a * 16777216.0f));
  }
  uint32_t ua = std::bit_cast<uint32_t>(a);
  ua += 0xfffu + ((ua >> 13) & 1u);  // round to nearest even at bit 13
  return sign | uint16_t(((ua >> 23) - 112) << 10 | ((ua >> 13) & 0x3ff));
}

float f8e4m3_to_f32(uint8_t v) {
  uint32_t sign = v >> 7, exp = (v >> 3) & 0xf, mant = v & 0x7;
  float f;
  if (exp == 0xf && mant == 0x7) return std::nanf("");
  if (exp == 0) f = std::ldexp(float(mant), -9);  // subnormal: mant/8 * 2^-6
  else f = std::ldexp(1.0f + float(mant) / 8.0f, int(exp) - 7);
  return sign ? -f : f;
}

uint8_t f32_to_f8e4m3(float f) {
  // Nearest representable value by search over the 127 non-negative finite codes (ties to even code).
  if (std::isnan(f)) return 0x7f;
  uint8_t sign = std::signbit(f) ? 0x80 : 0;
  float a = std::fmin(std::fabs(f), 448.0f);
  uint8_t best = 0;
  float best_err = INFINITY;
  for (uint8_t c = 0; c < 0x7f; ++c) {
    float err = std::fabs(f8e4m3_to_f32(c) - a);
    if (err < best_err || (err == best_err && (c & 1) == 0)) best = c, best_err = err;
  }
  return sign | best;
}

const float* f8e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = f8e4m3_to_f32(uint8_t(i));
    return t;
  }();
  return table.data();
}

}  // namespace whale
