// Element types of stored tensors: plain scalars (safetensors dtypes) and GGUF's block-quantized types, each
// described once in a traits table (block size, bytes, row codecs), plus scalar conversions to/from f32.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace whale {

// Scalars first, then the block-quantized types of GGUF (layouts in tensor/quant_blocks.h).
enum class DType {
  F32, BF16, F16, F8E4M3, I64, I32,
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS,
};

// Row codecs: n elements (a multiple of block_elems) from/to the stored bytes. Null where not defined
// (integer dtypes; quantize for F8E4M3, which needs block scales).
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n);

struct DTypeTraits {
  std::string_view name;  // safetensors spelling for scalars ("F8_E4M3"), ggml's for blocks ("Q4_K")
  int64_t block_elems;    // 1 for scalars
  size_t block_bytes;     // bytes of one block (= element size for scalars)
  int ggml_type;          // GGUF tensor type id, or -1 when GGUF has none
  bool is_float;          // holds real numbers (not I32/I64)
  DequantizeRowFn dequantize_row;
  QuantizeRowFn quantize_row;
};

const DTypeTraits& dtype_traits(DType dtype);
inline std::string_view dtype_name(DType dtype) { return dtype_traits(dtype).name; }
inline bool is_block_quantized(DType dtype) { return dtype >= DType::Q4_0; }
// Bytes of one element of a scalar dtype (block types: use dtype_nbytes).
size_t dtype_size(DType dtype);
// Bytes of n consecutive elements; n must be a multiple of the block size (checked: whale::Error).
size_t dtype_nbytes(DType dtype, int64_t n);

// Parses a safetensors dtype string; throws whale::Error naming `what` for an unsupported one.
DType parse_dtype(std::string_view name, std::string_view what);
// The whale dtype of a GGUF tensor type id; nullopt for ids whale does not run.
std::optional<DType> dtype_from_ggml(uint32_t ggml_type);
// ggml's name of a GGUF type id ("Q2_K", "IQ2_XXS", ...), or "type <id>" for an unknown one.
std::string ggml_type_name(uint32_t ggml_type);

inline float bf16_to_f32(uint16_t v) { return std::bit_cast<float>(uint32_t(v) << 16); }

// Round to nearest even, NaN kept quiet.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t v);
uint16_t f32_to_f16(float f);

// OCP FP8 E4M3 (finite-only: 0x7f/0xff are NaN, max 448), as torch.float8_e4m3fn.
float f8e4m3_to_f32(uint8_t v);
uint8_t f32_to_f8e4m3(float f);
// 256-entry decode table for kernels.
const float* f8e4m3_table();

}  // namespace whale
