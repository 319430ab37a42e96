// Row codecs of GGUF's block-quantized types: the value formula of each layout (tensor/quant_blocks.h) and the
// quantizers llama-quantize applies without an importance matrix. Every float expression keeps the operation
// order that reproduces ggml's results bit for bit (f32); scales are f16 rounded to nearest even.
#include "tensor/quant.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "tensor/dtype.h"
#include "tensor/quant_blocks.h"

// Bit-exactness needs every a·b + c rounded twice, as ggml's reference build and gguf-py compute it: no fused
// multiply-add, even where the target has one (-march=native, aarch64).
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace whale::quant {
namespace {

constexpr float kGroupEps = 1e-15f;  // a group whose largest |x| is below this quantizes to zeros

// ------------------------------------------------------------------------------------------- shared helpers

template <typename Block, int64_t kElems, typename F>
void for_blocks(const void* src, float* dst, int64_t n, F decode) {
  WHALE_CHECK(n % kElems == 0);
  const auto* blocks = static_cast<const Block*>(src);
  for (int64_t i = 0; i < n / kElems; ++i) decode(blocks[i], dst + i * kElems);
}

template <typename Block, int64_t kElems, typename F>
void for_blocks(const float* src, void* dst, int64_t n, F encode) {
  WHALE_CHECK(n % kElems == 0);
  auto* blocks = static_cast<Block*>(dst);
  for (int64_t i = 0; i < n / kElems; ++i) encode(src + i * kElems, blocks[i]);
}

// Round half to even (|v| < 2^22): adding 1.5·2^23 leaves no fraction bits, so the sum rounds v to an integer.
int nearest_int(float v) {
  constexpr float kMagic = 12582912.0f;
  return int((std::clamp(v, -4194303.0f, 4194303.0f) + kMagic) - kMagic);
}

// The element of largest magnitude, sign kept (the first one on ties).
float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), max = x[i];
  }
  return max;
}

// 4-bit codes, two per byte: in each group of 2·half elements, byte j holds element j (low nibble) and
// element j + half (high nibble). The legacy types and IQ4 pair j with j+16, Q4_K/Q5_K j with j+32 (groups of
// 64), Q6_K's low bits j with j+64 (groups of 128).
void pack_nibbles(const uint8_t* q, int n, int half, uint8_t* out) {
  for (int g = 0; g < n; g += 2 * half, q += 2 * half, out += half) {
    for (int j = 0; j < half; ++j) out[j] = uint8_t((q[j] & 15) | (q[j + half] & 15) << 4);
  }
}

void unpack_nibbles(const uint8_t* in, int n, int half, uint8_t* q) {
  for (int g = 0; g < n; g += 2 * half, q += 2 * half, in += half) {
    for (int j = 0; j < half; ++j) q[j] = in[j] & 15, q[j + half] = in[j] >> 4;
  }
}

// The 5-bit types (Q5_0, Q5_1, Q5_K) keep each code's bit 4 in a qh array.
template <typename Block>
constexpr bool kHasHighBits = requires(Block b) { b.qh; };

// Code bits above the nibble in the k-quants: in each span of 32·groups elements, element 32·k + l keeps its
// `bits` high bits at bit bits·k of qh[l], qh advancing by 32 bytes per span (Q5_K: one span of 8 groups,
// 1 bit; Q6_K: two spans of 4 groups, 2 bits).
void merge_high_bits(const uint8_t* qh, int n, int groups, int bits, uint8_t* q) {
  for (int span = 0; span < n; span += 32 * groups, qh += 32) {
    for (int k = 0; k < groups; ++k) {
      for (int l = 0; l < 32; ++l) q[span + 32 * k + l] |= ((qh[l] >> (bits * k)) & ((1 << bits) - 1)) << 4;
    }
  }
}

void split_high_bits(const uint8_t* q, int n, int groups, int bits, uint8_t* qh) {
  std::fill(qh, qh + n / groups, 0);
  for (int span = 0; span < n; span += 32 * groups, qh += 32) {
    for (int k = 0; k < groups; ++k) {
      for (int l = 0; l < 32; ++l) qh[l] = uint8_t(qh[l] | (q[span + 32 * k + l] >> 4) << (bits * k));
    }
  }
}

// ------------------------------------------------------------------- Q4_0, Q4_1, Q5_0, Q5_1 (blocks of 32)
// Codes q ∈ [0, 2^bits): x = d·(q − 2^(bits−1)) for the symmetric types, x = d·q + m for those with a min.
// The 5-bit types keep bit 4 of element j in bit j of the 32-bit qh.

template <typename Block>
constexpr bool kHasMin = requires(Block b) { b.m; };
template <typename Block>
constexpr int kBits = kHasHighBits<Block> ? 5 : 4;

constexpr auto kBit = [] {  // kBit[j] = 1 << j (a table: masks the compiler can vectorise)
  std::array<uint32_t, 32> bits{};
  for (int j = 0; j < 32; ++j) bits[j] = 1u << j;
  return bits;
}();

template <typename Block>
void dequantize_legacy(const Block& b, float* y) {
  uint8_t q[kBlock32];
  unpack_nibbles(b.qs, kBlock32, 16, q);
  if constexpr (kBits<Block> == 5) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, sizeof(qh));
    for (int j = 0; j < kBlock32; ++j) q[j] |= (qh & kBit[j]) ? 16 : 0;
  }
  const float d = f16_to_f32(b.d);
  if constexpr (kHasMin<Block>) {
    const float m = f16_to_f32(b.m);
    for (int j = 0; j < kBlock32; ++j) y[j] = q[j] * d + m;
  } else {
    constexpr int kZero = 1 << (kBits<Block> - 1);
    for (int j = 0; j < kBlock32; ++j) y[j] = (q[j] - kZero) * d;
  }
}

// Round-to-nearest on a grid set by the block's extremes: symmetric types map the element of largest
// magnitude to code 0 (d = max / −2^(bits−1)); types with a min span [min, max] with d = (max − min)/(2^bits − 1).
// Codes are ⌊v + ½⌋ of the non-negative grid position v, capped at the top code.
template <typename Block>
void quantize_legacy(const float* x, Block& b) {
  constexpr int kTop = (1 << kBits<Block>) - 1;
  uint8_t q[kBlock32];
  if constexpr (kHasMin<Block>) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < kBlock32; ++j) min = std::min(min, x[j]), max = std::max(max, x[j]);
    const float d = (max - min) / kTop;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = f32_to_f16(d);
    b.m = f32_to_f16(min);
    for (int j = 0; j < kBlock32; ++j) q[j] = uint8_t(std::min(kTop, int((x[j] - min) * id + 0.5f)));
  } else {
    constexpr int kZero = 1 << (kBits<Block> - 1);
    const float d = signed_absmax(x, kBlock32) / -kZero;
    const float id = d ? 1.0f / d : 0.0f;
    b.d = f32_to_f16(d);
    for (int j = 0; j < kBlock32; ++j) q[j] = uint8_t(std::min(kTop, int(x[j] * id + (kZero + 0.5f))));
  }
  pack_nibbles(q, kBlock32, 16, b.qs);
  if constexpr (kBits<Block> == 5) {
    uint32_t qh = 0;
    for (int j = 0; j < kBlock32; ++j) qh |= uint32_t(q[j] >> 4) << j;
    std::memcpy(b.qh, &qh, sizeof(qh));
  }
}

// --------------------------------------------------------------------------------------- Q8_0, Q8_1
// x = d·q with q = round(x / d) (half away from zero), d = max|x| / 127; Q8_1 also stores s = d·Σq.

template <typename Block>
void dequantize_q8(const Block& b, float* y) {
  const float d = f16_to_f32(b.d);
  for (int j = 0; j < kBlock32; ++j) y[j] = b.qs[j] * d;
}

template <typename Block>
float quantize_q8(const float* x, Block& b) {
  float amax = 0;
  for (int j = 0; j < kBlock32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d ? 1.0f / d : 0.0f;
  b.d = f32_to_f16(d);
  for (int j = 0; j < kBlock32; ++j) b.qs[j] = int8_t(std::round(x[j] * id));
  return d;
}

void quantize_q8_1(const float* x, BlockQ8_1& b) {
  const float d = quantize_q8(x, b);
  int sum = 0;
  for (int j = 0; j < kBlock32; ++j) sum += b.qs[j];
  b.s = f32_to_f16(sum * d);
}

// ------------------------------------------------------------------------------------------- Q4_K, Q5_K
// 8 sub-blocks of 32: x = d·sc_s·q − dmin·m_s with 6-bit sc_s, m_s. The 12 scale bytes hold (sc, m) of
// sub-blocks 0–3 in the low 6 bits of bytes 0–3 / 4–7, and those of sub-blocks 4–7 as the nibbles of bytes
// 8–11 with their top 2 bits in bits 6–7 of bytes 0–3 (sc) / 4–7 (m). Q5_K keeps bit 4 of element 32·s + j in
// bit s of qh[j].

constexpr int kSubK = 8;  // sub-blocks of 32 in a Q4_K/Q5_K/IQ4_XS super-block

void pack_scale_min(const uint8_t* sc, const uint8_t* m, uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = uint8_t(sc[j] | (sc[j + 4] >> 4) << 6);
    out[j + 4] = uint8_t(m[j] | (m[j + 4] >> 4) << 6);
    out[j + 8] = uint8_t((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
  }
}

void unpack_scale_min(const uint8_t* in, int s, int& sc, int& m) {
  if (s < 4) {
    sc = in[s] & 63, m = in[s + 4] & 63;
  } else {
    sc = (in[s + 4] & 15) | (in[s - 4] >> 6) << 4;
    m = (in[s + 4] >> 4) | (in[s] >> 6) << 4;
  }
}

template <typename Block>
void dequantize_k_affine(const Block& b, float* y) {
  uint8_t q[kBlockK];
  unpack_nibbles(b.qs, kBlockK, 32, q);
  if constexpr (kHasHighBits<Block>) merge_high_bits(b.qh, kBlockK, kSubK, 1, q);
  const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
  for (int s = 0; s < kSubK; ++s) {
    int sc, m;
    unpack_scale_min(b.scales, s, sc, m);
    const float ds = d * sc, ms = dmin * m;
    for (int j = 0; j < 32; ++j) y[32 * s + j] = ds * q[32 * s + j] - ms;
  }
}

// The grid search of an affine sub-block fit (ggml's make_qkx2_quants).
struct AffineSearch {
  int nmax;            // codes 0..nmax
  float rmin, rdelta;  // inverse scales tried: (nmax + rmin + rdelta·i) / (max − min), i = 0..nstep
  int nstep;
};
constexpr AffineSearch kQ4KSearch{15, -1.0f, 0.1f, 20};
constexpr AffineSearch kQ5KSearch{31, -0.5f, 0.1f, 15};

// Fits x ≈ scale·l − min (min ≥ 0, l ∈ [0, nmax]) minimising Σ w·err²: for each trial inverse scale the codes
// are rounded, then (scale, min) solved by weighted least squares (min clamped at 0); the best trial wins over
// the plain max−min grid. Returns the scale; writes the codes and min.
float fit_affine(const float* x, const float* w, const AffineSearch& s, uint8_t* L, float& min_out) {
  constexpr int n = 32;
  float min = x[0], max = x[0], sum_w = 0, sum_x = 0;
  for (int i = 0; i < n; ++i) {
    min = std::min(min, x[i]), max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  min = std::min(min, 0.0f);
  if (max == min) {
    std::fill(L, L + n, 0);
    min_out = -min;
    return 0;
  }
  auto error_of = [&](float scale, float offset, const uint8_t* codes) {
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = scale * codes[i] + offset - x[i];
      err += w[i] * (diff * diff);
    }
    return err;
  };
  auto round_codes = [&](float iscale, uint8_t* codes) {
    for (int i = 0; i < n; ++i) codes[i] = uint8_t(std::clamp(nearest_int(iscale * (x[i] - min)), 0, s.nmax));
  };
  float iscale = s.nmax / (max - min);
  float scale = 1 / iscale;
  round_codes(iscale, L);
  float best_error = error_of(scale, min, L);
  uint8_t trial[n];
  for (int is = 0; is <= s.nstep; ++is) {
    iscale = (s.rmin + s.rdelta * is + s.nmax) / (max - min);
    round_codes(iscale, trial);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = trial[i];
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (!(det > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) this_min = 0, this_scale = sum_xl / sum_l2;
    const float err = error_of(this_scale, this_min, trial);
    if (err < best_error) {
      std::copy(trial, trial + n, L);
      best_error = err, scale = this_scale, min = this_min;
    }
  }
  min_out = -min;
  return scale;
}

// One Q4_K/Q5_K super-block: per sub-block fits (weights √(mean x²) + |x|), their scales and mins quantized to
// 6 bits against the largest of each (d = max_scale/63, dmin = max_min/63), then every code re-rounded with
// the stored scales. A sub-block whose stored scale is 0 keeps the codes of its fit.
template <typename Block, const AffineSearch& kSearch>
void quantize_k_affine(const float* x, Block& b) {
  uint8_t L[kBlockK];
  float scales[kSubK], mins[kSubK], w[32];
  float max_scale = 0, max_min = 0;
  for (int s = 0; s < kSubK; ++s) {
    const float* xs = x + 32 * s;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xs[l]);
    scales[s] = fit_affine(xs, w, kSearch, L + 32 * s, mins[s]);
    max_scale = std::max(max_scale, scales[s]);
    max_min = std::max(max_min, mins[s]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  uint8_t ls[kSubK], lm[kSubK];
  for (int s = 0; s < kSubK; ++s) {
    ls[s] = uint8_t(std::clamp(nearest_int(inv_scale * scales[s]), 0, 63));
    lm[s] = uint8_t(std::clamp(nearest_int(inv_min * mins[s]), 0, 63));
  }
  pack_scale_min(ls, lm, b.scales);
  b.d = f32_to_f16(max_scale / 63.0f);
  b.dmin = f32_to_f16(max_min / 63.0f);
  for (int s = 0; s < kSubK; ++s) {
    const float d = f16_to_f32(b.d) * ls[s];
    if (d == 0) continue;
    const float dm = f16_to_f32(b.dmin) * lm[s];
    for (int j = 32 * s; j < 32 * (s + 1); ++j) {
      L[j] = uint8_t(std::clamp(nearest_int((x[j] + dm) / d), 0, kSearch.nmax));
    }
  }
  pack_nibbles(L, kBlockK, 32, b.qs);
  if constexpr (kHasHighBits<Block>) split_high_bits(L, kBlockK, kSubK, 1, b.qh);
}

// ------------------------------------------------------------------------------------------------- Q6_K
// 16 sub-blocks of 16: x = d·sc_s·(q − 32), q 6-bit, sc_s int8. Low 4 bits as nibbles pairing e with e+64 in
// each half of 128; the top 2 bits of element 128·h + 32·k + l in bits 2k, 2k+1 of qh[32·h + l].

void dequantize_q6_k(const BlockQ6_K& b, float* y) {
  uint8_t q[kBlockK];
  unpack_nibbles(b.ql, kBlockK, 64, q);
  merge_high_bits(b.qh, kBlockK, 4, 2, q);
  const float d = f16_to_f32(b.d);
  for (int s = 0; s < 16; ++s) {
    const float ds = d * b.scales[s];
    for (int j = 16 * s; j < 16 * (s + 1); ++j) y[j] = ds * (q[j] - 32);
  }
}

// Fits x ≈ scale·l, l ∈ [−nmax, nmax − 1], maximising (Σ w·x·l)² / Σ w·l² with weights x², over the inverse
// scales −(nmax + i/10)/max, i = −9..9 (ggml's make_qx_quants, rmse_type 1). Writes codes l + nmax.
float fit_symmetric(const float* x, int n, int nmax, uint8_t* L) {
  const float max = signed_absmax(x, n);
  if (std::fabs(max) < kGroupEps) {
    std::fill(L, L + n, 0);
    return 0;
  }
  auto code = [&](float iscale, int i) { return std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1); };
  auto sums = [&](float iscale, float& sum_lx, float& sum_l2) {
    sum_lx = sum_l2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = code(iscale, i);
      const float w = x[i] * x[i];
      sum_lx += w * x[i] * l;
      sum_l2 += w * l * l;
    }
  };
  float best_iscale = -nmax / max, sum_lx, sum_l2;
  sums(best_iscale, sum_lx, sum_l2);
  float scale = sum_l2 ? sum_lx / sum_l2 : 0.0f;
  float best = scale * sum_lx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(nmax + 0.1f * is) / max;
    sums(iscale, sum_lx, sum_l2);
    if (sum_l2 > 0 && sum_lx * sum_lx > best * sum_l2) {
      best_iscale = iscale, scale = sum_lx / sum_l2, best = scale * sum_lx;
    }
  }
  for (int i = 0; i < n; ++i) L[i] = uint8_t(code(best_iscale, i) + nmax);
  return scale;
}

// Sub-block scales quantized to int8 against the one of largest magnitude (d = max_scale / −128), then every
// code re-rounded with the stored scales (a sub-block whose stored scale is 0 keeps the codes of its fit).
void quantize_q6_k(const float* x, BlockQ6_K& b) {
  uint8_t L[kBlockK];
  float scales[16], max_scale = 0, max_abs_scale = 0;
  for (int s = 0; s < 16; ++s) {
    scales[s] = fit_symmetric(x + 16 * s, 16, 32, L + 16 * s);
    if (std::fabs(scales[s]) > max_abs_scale) max_abs_scale = std::fabs(scales[s]), max_scale = scales[s];
  }
  b = {};
  if (max_abs_scale < kGroupEps) return;
  const float iscale = -128.0f / max_scale;
  b.d = f32_to_f16(1 / iscale);
  for (int s = 0; s < 16; ++s) b.scales[s] = int8_t(std::min(127, nearest_int(iscale * scales[s])));
  for (int s = 0; s < 16; ++s) {
    const float d = f16_to_f32(b.d) * b.scales[s];
    if (d == 0) continue;
    for (int j = 16 * s; j < 16 * (s + 1); ++j) L[j] = uint8_t(std::clamp(nearest_int(x[j] / d), -32, 31) + 32);
  }
  pack_nibbles(L, kBlockK, 64, b.ql);
  split_high_bits(L, kBlockK, 4, 2, b.qh);
}

// ------------------------------------------------------------------------------------------------- Q8_K
// x = d·q with f32 d = max / −127 (max: the element of largest magnitude), q rounded half to even; bsums are
// the sums of q over each 16.

void dequantize_q8_k(const BlockQ8_K& b, float* y) {
  for (int j = 0; j < kBlockK; ++j) y[j] = b.d * b.qs[j];
}

void quantize_q8_k(const float* x, BlockQ8_K& b) {
  b = {};
  const float max = signed_absmax(x, kBlockK);
  if (max == 0) return;
  const float iscale = -127.0f / max;
  for (int j = 0; j < kBlockK; ++j) b.qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
  for (int j = 0; j < kBlockK; ++j) b.bsums[j / 16] = int16_t(b.bsums[j / 16] + b.qs[j]);
  b.d = 1 / iscale;
}

// ------------------------------------------------------------------------------------------ IQ4_NL, IQ4_XS
// x = d·kIQ4NL[q] over the non-linear codebook (IQ4_XS: d·(ls_s − 32) per sub-block of 32, 6-bit ls_s with the
// low 4 bits in nibble s%2 of scales_l[s/2] and the top 2 in bits 2s of scales_h). Nibbles as Q4_0.

// Index of the codebook value nearest to v (the upper one on a tie): the count of midpoints at or below v.
int nearest_iq4(float v) {
  const float v2 = v + v;
  int index = 0;
  for (int j = 1; j < 16; ++j) index += v2 >= float(kIQ4NL[j - 1] + kIQ4NL[j]);
  return index;
}

// One group of 32 with scale d, from / to its 16 bytes of codebook indices.
void decode_iq4(const uint8_t* qs, float d, float* y) {
  uint8_t q[32];
  unpack_nibbles(qs, 32, 16, q);
  for (int j = 0; j < 32; ++j) y[j] = d * kIQ4NL[q[j]];
}

void encode_iq4(const float* x, float d, uint8_t* qs) {
  const float id = d ? 1 / d : 0.0f;
  uint8_t q[32];
  for (int j = 0; j < 32; ++j) q[j] = uint8_t(nearest_iq4(id * x[j]));
  pack_nibbles(q, 32, 16, qs);
}

// Best scale of a sub-block of 32 on the codebook: weighted least squares d = Σ w·c·x / Σ w·c² (weights x²)
// for the codes c of the inverse scales 127/max and (i − 127)/max, i = −7..7, keeping the one that maximises
// (Σ w·c·x)² / Σ w·c².
float fit_iq4(const float* x) {
  const float max = signed_absmax(x, 32);
  if (std::fabs(max) < kGroupEps) return 0;
  auto sums = [&](float id, float& sum_qx, float& sum_q2) {
    sum_qx = sum_q2 = 0;
    for (int j = 0; j < 32; ++j) {
      const float q = kIQ4NL[nearest_iq4(id * x[j])];
      const float w = x[j] * x[j];
      sum_qx += w * q * x[j];
      sum_q2 += w * q * q;
    }
  };
  float sum_qx, sum_q2;
  sums(1 / (-max / kIQ4NL[0]), sum_qx, sum_q2);
  float d = sum_q2 > 0 ? sum_qx / sum_q2 : 0.0f;
  float best = d * sum_qx;
  for (int i = -7; i <= 7; ++i) {
    sums((i + kIQ4NL[0]) / max, sum_qx, sum_q2);
    if (sum_q2 > 0 && sum_qx * sum_qx > best * sum_q2) d = sum_qx / sum_q2, best = d * sum_qx;
  }
  return d;
}

int iq4_xs_scale(const BlockIQ4_XS& b, int s) {
  return ((b.scales_l[s / 2] >> 4 * (s % 2)) & 15) | ((b.scales_h >> 2 * s) & 3) << 4;
}

void dequantize_iq4_xs_block(const BlockIQ4_XS& b, float* y) {
  const float d = f16_to_f32(b.d);
  for (int s = 0; s < kSubK; ++s) decode_iq4(b.qs + 16 * s, d * (iq4_xs_scale(b, s) - 32), y + 32 * s);
}

// Sub-block scales quantized to 6 bits against the one of largest magnitude (d = max_scale / −32); the codes
// are re-chosen with each stored scale d·l (in f32).
void quantize_iq4_xs_block(const float* x, BlockIQ4_XS& b) {
  float scales[kSubK], max_scale = 0, amax_scale = 0;
  for (int s = 0; s < kSubK; ++s) {
    scales[s] = fit_iq4(x + 32 * s);
    if (std::fabs(scales[s]) > amax_scale) amax_scale = std::fabs(scales[s]), max_scale = scales[s];
  }
  const float d = -max_scale / 32;
  const float id = d ? 1 / d : 0.0f;
  b.d = f32_to_f16(d);
  b.scales_h = 0;
  std::fill(std::begin(b.scales_l), std::end(b.scales_l), 0);
  for (int s = 0; s < kSubK; ++s) {
    const int l = std::clamp(nearest_int(id * scales[s]), -32, 31);
    encode_iq4(x + 32 * s, d * l, b.qs + 16 * s);
    b.scales_l[s / 2] |= uint8_t(((l + 32) & 15) << 4 * (s % 2));
    b.scales_h = uint16_t(b.scales_h | ((l + 32) >> 4) << 2 * s);
  }
}

}  // namespace

void dequantize_row_q4_0(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ4_0, kBlock32>(src, dst, n, dequantize_legacy<BlockQ4_0>);
}
void quantize_row_q4_0(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ4_0, kBlock32>(src, dst, n, quantize_legacy<BlockQ4_0>);
}
void dequantize_row_q4_1(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ4_1, kBlock32>(src, dst, n, dequantize_legacy<BlockQ4_1>);
}
void quantize_row_q4_1(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ4_1, kBlock32>(src, dst, n, quantize_legacy<BlockQ4_1>);
}
void dequantize_row_q5_0(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ5_0, kBlock32>(src, dst, n, dequantize_legacy<BlockQ5_0>);
}
void quantize_row_q5_0(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ5_0, kBlock32>(src, dst, n, quantize_legacy<BlockQ5_0>);
}
void dequantize_row_q5_1(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ5_1, kBlock32>(src, dst, n, dequantize_legacy<BlockQ5_1>);
}
void quantize_row_q5_1(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ5_1, kBlock32>(src, dst, n, quantize_legacy<BlockQ5_1>);
}
void dequantize_row_q8_0(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ8_0, kBlock32>(src, dst, n, dequantize_q8<BlockQ8_0>);
}
void quantize_row_q8_0(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ8_0, kBlock32>(src, dst, n, quantize_q8<BlockQ8_0>);
}
void dequantize_row_q8_1(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ8_1, kBlock32>(src, dst, n, dequantize_q8<BlockQ8_1>);
}
void quantize_row_q8_1(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ8_1, kBlock32>(src, dst, n, quantize_q8_1);
}
void dequantize_row_q4_k(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ4_K, kBlockK>(src, dst, n, dequantize_k_affine<BlockQ4_K>);
}
void quantize_row_q4_k(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ4_K, kBlockK>(src, dst, n, quantize_k_affine<BlockQ4_K, kQ4KSearch>);
}
void dequantize_row_q5_k(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ5_K, kBlockK>(src, dst, n, dequantize_k_affine<BlockQ5_K>);
}
void quantize_row_q5_k(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ5_K, kBlockK>(src, dst, n, quantize_k_affine<BlockQ5_K, kQ5KSearch>);
}
void dequantize_row_q6_k(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ6_K, kBlockK>(src, dst, n, dequantize_q6_k);
}
void quantize_row_q6_k(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ6_K, kBlockK>(src, dst, n, quantize_q6_k);
}
void dequantize_row_q8_k(const void* src, float* dst, int64_t n) {
  for_blocks<BlockQ8_K, kBlockK>(src, dst, n, dequantize_q8_k);
}
void quantize_row_q8_k(const float* src, void* dst, int64_t n) {
  for_blocks<BlockQ8_K, kBlockK>(src, dst, n, quantize_q8_k);
}
void dequantize_row_iq4_nl(const void* src, float* dst, int64_t n) {
  for_blocks<BlockIQ4_NL, kBlock32>(src, dst, n, [](const BlockIQ4_NL& b, float* y) {
    decode_iq4(b.qs, f16_to_f32(b.d), y);
  });
}
void quantize_row_iq4_nl(const float* src, void* dst, int64_t n) {
  for_blocks<BlockIQ4_NL, kBlock32>(src, dst, n, [](const float* x, BlockIQ4_NL& b) {
    const float d = fit_iq4(x);
    b.d = f32_to_f16(d);
    encode_iq4(x, d, b.qs);
  });
}
void dequantize_row_iq4_xs(const void* src, float* dst, int64_t n) {
  for_blocks<BlockIQ4_XS, kBlockK>(src, dst, n, dequantize_iq4_xs_block);
}
void quantize_row_iq4_xs(const float* src, void* dst, int64_t n) {
  for_blocks<BlockIQ4_XS, kBlockK>(src, dst, n, quantize_iq4_xs_block);
}

}  // namespace whale::quant
