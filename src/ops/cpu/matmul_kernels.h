// Weight-decoding matmul kernels shared by ops::matmul (ops/cpu/matmul.cc). Compiled per SIMD target with
// Highway; each entry point picks the best target of the running CPU.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace whale::ops::cpu {

// Largest batch the weight-streaming (decode) path handles; larger batches use dequantize + sgemm.
inline constexpr int64_t kDecodeMaxRows = 8;

struct DecodeArgs {
  const float* x;       // [n, k]
  int64_t n;            // 1..kDecodeMaxRows
  const MatrixView* w;  // [m, k]
  float* y;             // [n, m]
  bool accumulate;
};

// y[:, row_begin:row_end] (+)= x · W[row_begin:row_end]ᵀ, streaming each weight row once. No allocation.
void decode_rows(const DecodeArgs& args, int64_t row_begin, int64_t row_end);

// out[row_end - row_begin, cols] = W[row_begin:row_end] as f32, block scales applied.
void dequantize_rows(const MatrixView& w, int64_t row_begin, int64_t row_end, float* out);

}  // namespace whale::ops::cpu
