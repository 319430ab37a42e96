// Element types of stored tensors and scalar conversions to/from f32.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace whale {

enum class DType { F32, BF16, F16, F8E4M3, I64, I32 };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);  // safetensors spelling: "F32", "BF16", "F8_E4M3", ...
// Parses a safetensors dtype string; throws whale::Error naming `what` for an unsupported one.
DType parse_dtype(std::string_view name, std::string_view what);

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
