// ops::matmul on the CPU: one batch-invariant tiled kernel for decode and prefill (see matmul_kernels.h).
// Measured on the 2-core dev machine (bf16 W 2048x2048): 55-65 GFLOP/s at n = 32..512 against 45 GFLOP/s for
// dequantize + OpenBLAS sgemm, and it keeps cached decoding bit-identical to a batched forward.
#include <algorithm>

#include "core/error.h"
#include "ops/cpu/matmul_kernels.h"
#include "ops/ops.h"

namespace whale::ops {
namespace {

// Weight rows per parallel chunk are multiples of this (cache-line friendly, whole kernel tiles).
constexpr int64_t kRowGroup = 16;

void check_args(const float* x, int64_t n, const MatrixView& w, const float* y) {
  if (!dtype_traits(w.dtype).is_float)
    fail("matmul: weight [{}, {}] has dtype {}; expected a floating-point or block-quantized dtype", w.rows, w.cols,
         dtype_name(w.dtype));
  if (w.cols % dtype_traits(w.dtype).block_elems != 0)
    fail("matmul: {} weight rows of {} elements are not whole blocks", dtype_name(w.dtype), w.cols);
  if (n < 0 || w.rows < 0 || w.cols < 0)
    fail("matmul: negative size (n={}, weight [{}, {}])", n, w.rows, w.cols);
  if (w.dtype == DType::F8E4M3 && w.block_scale == nullptr && w.rows * w.cols > 0)
    fail("matmul: F8_E4M3 weight [{}, {}] has no block scales (weight_scale_inv)", w.rows, w.cols);
  if (w.data == nullptr && w.rows * w.cols > 0) fail("matmul: weight [{}, {}] has no data", w.rows, w.cols);
  if (n > 0 && w.rows > 0 && (y == nullptr || (x == nullptr && w.cols > 0)))
    fail("matmul: null activation or output buffer (n={}, weight [{}, {}])", n, w.rows, w.cols);
}

}  // namespace

void matmul(ThreadPool& pool, const float* x, int64_t n, const MatrixView& w, float* y, bool accumulate) {
  check_args(x, n, w, y);
  if (n == 0 || w.rows == 0) return;
  if (w.cols == 0) {  // empty sum
    if (!accumulate) std::fill(y, y + n * w.rows, 0.0f);
    return;
  }
  const cpu::MatmulArgs args{x, n, &w, y, accumulate};
  const int64_t n_groups = (w.rows + kRowGroup - 1) / kRowGroup;
  // At least ~64K multiply-adds per chunk so that small matrices are not split into tiny tasks.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, kRowGroup * w.cols * n));
  // Capturing one reference keeps the std::function small enough to avoid a heap allocation.
  pool.parallel_for(size_t(n_groups), size_t(grain), [&args](size_t g0, size_t g1) {
    const int64_t rows = args.w->rows;
    cpu::matmul_rows(args, int64_t(g0) * kRowGroup, std::min(rows, int64_t(g1) * kRowGroup));
  });
}

}  // namespace whale::ops
