// Weight-decoding matmul kernels shared by ops::matmul (ops/cpu/matmul.cc). Compiled per SIMD target with
// Highway; each entry point picks the best target of the running CPU.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace whale::ops::cpu {

struct MatmulArgs {
  const float* x;       // [n, k]
  int64_t n;            // any n >= 1
  const MatrixView* w;  // [m, k]
  float* y;             // [n, m]
  bool accumulate;
};

// y[:, row_begin:row_end] (+)= x · W[row_begin:row_end]ᵀ. No allocation. Batch-invariant: every output is
// accumulated in the same order for any n, so a row's result does not depend on the rows batched with it.
void matmul_rows(const MatmulArgs& args, int64_t row_begin, int64_t row_end);

}  // namespace whale::ops::cpu
