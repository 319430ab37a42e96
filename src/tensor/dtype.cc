#include "tensor/dtype.h"

#include <array>
#include <cmath>

#include "core/error.h"

namespace whale {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::F8E4M3: return 1;
    case DType::I64: return 8;
    case DType::I32: return 4;
  }
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
    case DType::F8E4M3: return "F8_E4M3";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
  }
  return "?";
}

DType parse_dtype(std::string_view name, std::string_view what) {
  for (DType d : {DType::F32, DType::BF16, DType::F16, DType::F8E4M3, DType::I64, DType::I32})
    if (dtype_name(d) == name) return d;
  fail("{}: unsupported dtype '{}' (supported: F32, BF16, F16, F8_E4M3, I64, I32)", what, name);
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
