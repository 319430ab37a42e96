// ops::matmul on the CPU: the decode path (few activation rows) streams weights through SIMD kernels; the
// prefill path dequantizes tiles of weight rows to f32 and hands them to OpenBLAS sgemm.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "ops/cpu/matmul_kernels.h"
#include "ops/ops.h"

namespace whale::ops {
namespace {

// Weight rows per parallel decode chunk are multiples of this (cache-line friendly, whole kernel tiles).
constexpr int64_t kDecodeRowGroup = 16;
// Weight rows dequantized per sgemm call in the prefill path; each pool thread owns one tile at a time.
constexpr int64_t kPrefillTileRows = 128;

void check_args(const float* x, int64_t n, const MatrixView& w, const float* y) {
  if (w.dtype != DType::F32 && w.dtype != DType::BF16 && w.dtype != DType::F16 && w.dtype != DType::F8E4M3)
    fail("matmul: weight [{}, {}] has dtype {}; expected F32, BF16, F16 or F8_E4M3", w.rows, w.cols,
         dtype_name(w.dtype));
  if (n < 0 || w.rows < 0 || w.cols < 0)
    fail("matmul: negative size (n={}, weight [{}, {}])", n, w.rows, w.cols);
  if (w.dtype == DType::F8E4M3 && w.block_scale == nullptr && w.rows * w.cols > 0)
    fail("matmul: F8_E4M3 weight [{}, {}] has no block scales (weight_scale_inv)", w.rows, w.cols);
  if (w.data == nullptr && w.rows * w.cols > 0) fail("matmul: weight [{}, {}] has no data", w.rows, w.cols);
  if (n > 0 && w.rows > 0 && (y == nullptr || (x == nullptr && w.cols > 0)))
    fail("matmul: null activation or output buffer (n={}, weight [{}, {}])", n, w.rows, w.cols);
}

void decode(ThreadPool& pool, const float* x, int64_t n, const MatrixView& w, float* y, bool accumulate) {
  const cpu::DecodeArgs args{x, n, &w, y, accumulate};
  const int64_t n_groups = (w.rows + kDecodeRowGroup - 1) / kDecodeRowGroup;
  // At least ~64K multiply-adds per chunk so that small matrices are not split into tiny tasks.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, kDecodeRowGroup * w.cols * n));
  // Capturing one reference keeps the std::function small enough to avoid a heap allocation.
  pool.parallel_for(size_t(n_groups), size_t(grain), [&args](size_t g0, size_t g1) {
    const int64_t rows = args.w->rows;
    cpu::decode_rows(args, int64_t(g0) * kDecodeRowGroup, std::min(rows, int64_t(g1) * kDecodeRowGroup));
  });
}

void prefill(ThreadPool& pool, const float* x, int64_t n, const MatrixView& w, float* y, bool accumulate) {
  // Our pool provides the parallelism; OpenBLAS threads would only compete with it.
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  const int64_t m = w.rows, k = w.cols;
  const bool direct = w.dtype == DType::F32 && w.block_scale == nullptr;
  const int64_t n_tiles = (m + kPrefillTileRows - 1) / kPrefillTileRows;
  pool.parallel_for(size_t(n_tiles), 1, [&](size_t t0, size_t t1) {
    thread_local std::vector<float> scratch;  // [kPrefillTileRows, k]
    for (size_t t = t0; t < t1; ++t) {
      const int64_t r0 = int64_t(t) * kPrefillTileRows, r1 = std::min(m, r0 + kPrefillTileRows);
      const float* tile = static_cast<const float*>(w.data) + r0 * k;  // [r1 - r0, k]
      if (!direct) {
        scratch.resize(size_t(kPrefillTileRows * k));
        cpu::dequantize_rows(w, r0, r1, scratch.data());
        tile = scratch.data();
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(r1 - r0), int(k), 1.0f, x, int(k),
                  tile, int(k), accumulate ? 1.0f : 0.0f, y + r0, int(m));
    }
  });
}

}  // namespace

void matmul(ThreadPool& pool, const float* x, int64_t n, const MatrixView& w, float* y, bool accumulate) {
  check_args(x, n, w, y);
  if (n == 0 || w.rows == 0) return;
  if (w.cols == 0) {  // empty sum
    if (!accumulate) std::fill(y, y + n * w.rows, 0.0f);
    return;
  }
  if (n <= cpu::kDecodeMaxRows)
    decode(pool, x, n, w, y, accumulate);
  else
    prefill(pool, x, n, w, y, accumulate);
}

}  // namespace whale::ops
