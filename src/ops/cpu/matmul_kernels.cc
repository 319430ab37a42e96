// Weight-decoding matmul kernels: weights are read in their stored dtype and converted (bf16/f16/fp8 → f32) in
// registers; tiles of activation rows × weight rows share every load. Shape legend as in ops/ops.h.
#include "ops/cpu/matmul_kernels.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"
#include "tensor/dtype.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/matmul_kernels.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace whale::ops::cpu {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// Loaders: one vector of weights (Lanes(DF) elements starting at p) as f32, and one element for tails.
struct LoadF32 {
  using T = float;
  HWY_INLINE VF operator()(DF d, const T* p) const { return hn::LoadU(d, p); }
  HWY_INLINE float scalar(T v) const { return v; }
};
struct LoadBF16 {
  using T = uint16_t;
  HWY_INLINE VF operator()(DF d, const T* p) const {
    return hn::PromoteTo(
        d, hn::LoadU(hn::Rebind<hwy::bfloat16_t, DF>(), reinterpret_cast<const hwy::bfloat16_t*>(p)));
  }
  HWY_INLINE float scalar(T v) const { return bf16_to_f32(v); }
};
struct LoadF16 {
  using T = uint16_t;
  HWY_INLINE VF operator()(DF d, const T* p) const {
    return hn::PromoteTo(
        d, hn::LoadU(hn::Rebind<hwy::float16_t, DF>(), reinterpret_cast<const hwy::float16_t*>(p)));
  }
  HWY_INLINE float scalar(T v) const { return f16_to_f32(v); }
};
// E4M3 (bias 7, 3 mantissa bits, 0x7f/0xff NaN) decoded with integer ops: a gather from the 256-entry table
// costs several times more and made fp8 decode compute-bound. Tails use the table (f8e4m3_table()).
struct LoadF8 {
  using T = uint8_t;
  const float* table;
  HWY_INLINE VF operator()(DF d, const T* p) const {
    const hn::RebindToSigned<DF> di;
    const auto bits = hn::PromoteTo(di, hn::LoadU(hn::Rebind<uint8_t, DF>(), p));
    const auto magnitude = hn::And(bits, hn::Set(di, 0x7f));  // exponent and mantissa
    // Normal: move exponent/mantissa into f32 position and rebias the exponent (7 -> 127).
    const VF normal = hn::BitCast(d, hn::Add(hn::ShiftLeft<20>(magnitude), hn::Set(di, 120 << 23)));
    // Subnormal (exponent 0): mantissa · 2^-9.
    const VF subnormal = hn::Mul(hn::ConvertTo(d, magnitude), hn::Set(d, 1.0f / 512.0f));
    VF v = hn::IfThenElse(hn::RebindMask(d, hn::Lt(magnitude, hn::Set(di, 8))), subnormal, normal);
    v = hn::IfThenElse(hn::RebindMask(d, hn::Eq(magnitude, hn::Set(di, 0x7f))),
                       hn::Set(d, std::numeric_limits<float>::quiet_NaN()), v);
    const auto sign = hn::ShiftLeft<24>(hn::And(bits, hn::Set(di, 0x80)));
    return hn::Or(v, hn::BitCast(d, sign));
  }
  HWY_INLINE float scalar(T v) const { return table[v]; }
};

template <class Load>
struct Ctx {
  Load load;
  const typename Load::T* w;  // [m, k], or rows [w_row0, ...) of it
  int64_t w_row0;
  const float* scales;        // [ceil(m/128), n_col_blocks] or null
  int64_t m, k, n_col_blocks, block;
  const float* x;  // [n, k]
  float* y;        // [n, m]
  bool accumulate;
};

// y[a0 + a, r + j] for a < kAct, j < kW: kAct·kW independent dot products sharing each x and weight load.
// With block scales, each 128-column block's raw dot is multiplied by that block's scale.
template <size_t kAct, size_t kW, class Load>
HWY_INLINE void tile(const Ctx<Load>& c, int64_t r, int64_t a0) {
  const DF d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  const int64_t k = c.k;
  const typename Load::T* rows[kW];
  const float* scale_rows[kW];
  for (size_t j = 0; j < kW; ++j) {
    rows[j] = c.w + (r - c.w_row0 + int64_t(j)) * k;
    scale_rows[j] = c.scales ? c.scales + ((r + int64_t(j)) / MatrixView::kBlock) * c.n_col_blocks : nullptr;
  }
  const float* x = c.x + a0 * k;
  VF total[kAct][kW];
  float tail_total[kAct][kW] = {};
  for (size_t a = 0; a < kAct; ++a)
    for (size_t j = 0; j < kW; ++j) total[a][j] = hn::Zero(d);

  for (int64_t cb = 0; cb < k; cb += c.block) {
    const int64_t ce = std::min(k, cb + c.block);
    VF acc[kAct][kW];
    for (size_t a = 0; a < kAct; ++a)
      for (size_t j = 0; j < kW; ++j) acc[a][j] = hn::Zero(d);
    int64_t col = cb;
    for (; col + lanes <= ce; col += lanes) {
      VF xv[kAct];
      for (size_t a = 0; a < kAct; ++a) xv[a] = hn::LoadU(d, x + int64_t(a) * k + col);
      for (size_t j = 0; j < kW; ++j) {
        const VF wv = c.load(d, rows[j] + col);
        for (size_t a = 0; a < kAct; ++a) acc[a][j] = hn::MulAdd(xv[a], wv, acc[a][j]);
      }
    }
    float tail[kAct][kW] = {};  // only the last block of a row has a tail (128 is a multiple of lanes)
    for (; col < ce; ++col)
      for (size_t j = 0; j < kW; ++j) {
        const float wv = c.load.scalar(rows[j][col]);
        for (size_t a = 0; a < kAct; ++a) tail[a][j] += x[int64_t(a) * k + col] * wv;
      }
    for (size_t j = 0; j < kW; ++j) {
      const float s = scale_rows[j] ? scale_rows[j][cb / MatrixView::kBlock] : 1.0f;
      const VF sv = hn::Set(d, s);
      for (size_t a = 0; a < kAct; ++a) {
        total[a][j] = hn::MulAdd(acc[a][j], sv, total[a][j]);
        tail_total[a][j] += tail[a][j] * s;
      }
    }
  }
  for (size_t a = 0; a < kAct; ++a)
    for (size_t j = 0; j < kW; ++j) {
      const float v = hn::GetLane(hn::SumOfLanes(d, total[a][j])) + tail_total[a][j];
      float& dst = c.y[(a0 + int64_t(a)) * c.m + r + int64_t(j)];
      dst = c.accumulate ? dst + v : v;
    }
}

// One group of kAct activation rows against n_rows (4 or 1) weight rows. Fewer weight rows per tile when
// there are more activation rows keeps all accumulators in registers.
template <size_t kAct, class Load>
HWY_INLINE void group(const Ctx<Load>& c, int64_t r, int64_t n_rows, int64_t a0) {
  constexpr size_t kW = kAct <= 2 ? 4 : 2;
  if (n_rows == 1) {
    tile<kAct, 1>(c, r, a0);
    return;
  }
  for (int64_t j = 0; j < 4; j += int64_t(kW)) tile<kAct, kW>(c, r + j, a0);
}

// Cache blocking: a block of weight rows stays in L2 while every group of 4 activation rows (in L1) passes
// over it. Each output's accumulation order depends only on k, never on n or the tiling, so a row's result
// is bit-identical whether it is computed alone or in a batch.
constexpr int64_t kRowBlock = 64;

template <class Load>
void row_block(const Ctx<Load>& c, int64_t n, int64_t rb, int64_t re) {
  for (int64_t a0 = 0; a0 < n; a0 += 4) {
    const int64_t n_act = std::min<int64_t>(4, n - a0);
    for (int64_t r = rb; r < re;) {
      const int64_t n_rows = re - r >= 4 ? 4 : 1;
      switch (n_act) {
        case 1:
          group<1>(c, r, n_rows, a0);
          break;
        case 2:
          group<2>(c, r, n_rows, a0);
          break;
        case 3:
          group<3>(c, r, n_rows, a0);
          break;
        default:
          group<4>(c, r, n_rows, a0);
          break;
      }
      r += n_rows;
    }
  }
}

template <class Load>
void matmul_rows_t(const Load& load, const MatmulArgs& args, int64_t row_begin, int64_t row_end) {
  const MatrixView& w = *args.w;
  const int64_t n_col_blocks = (w.cols + MatrixView::kBlock - 1) / MatrixView::kBlock;
  const Ctx<Load> c{load,
                    static_cast<const typename Load::T*>(w.data),
                    0,
                    w.block_scale,
                    w.rows,
                    w.cols,
                    n_col_blocks,
                    w.block_scale ? MatrixView::kBlock : std::max<int64_t>(w.cols, 1),
                    args.x,
                    args.y,
                    args.accumulate};
  for (int64_t rb = row_begin; rb < row_end; rb += kRowBlock) row_block(c, args.n, rb, std::min(row_end, rb + kRowBlock));
}

// Block-quantized weights (GGUF types): each block of weight rows is decoded to f32 once, then every
// activation row passes over it with the f32 kernel. Same accumulation order as f32 weights, so batch-invariant.
void matmul_rows_dequant(const MatmulArgs& args, int64_t row_begin, int64_t row_end) {
  const MatrixView& w = *args.w;
  const DTypeTraits& traits = dtype_traits(w.dtype);
  thread_local std::vector<float> decoded;  // [kRowBlock, k]
  decoded.resize(size_t(kRowBlock * w.cols));
  const size_t row_bytes = w.row_bytes();
  for (int64_t rb = row_begin; rb < row_end; rb += kRowBlock) {
    const int64_t re = std::min(row_end, rb + kRowBlock);
    for (int64_t r = rb; r < re; ++r)
      traits.dequantize_row(static_cast<const char*>(w.data) + size_t(r) * row_bytes,
                            decoded.data() + (r - rb) * w.cols, w.cols);
    const Ctx<LoadF32> c{LoadF32{}, decoded.data(), rb, nullptr, w.rows, w.cols, 1, std::max<int64_t>(w.cols, 1),
                         args.x, args.y, args.accumulate};
    row_block(c, args.n, rb, re);
  }
}

void MatmulRows(const MatmulArgs& args, int64_t row_begin, int64_t row_end) {
  switch (args.w->dtype) {
    case DType::F32:
      return matmul_rows_t(LoadF32{}, args, row_begin, row_end);
    case DType::BF16:
      return matmul_rows_t(LoadBF16{}, args, row_begin, row_end);
    case DType::F16:
      return matmul_rows_t(LoadF16{}, args, row_begin, row_end);
    case DType::F8E4M3:
      return matmul_rows_t(LoadF8{f8e4m3_table()}, args, row_begin, row_end);
    default:
      WHALE_CHECK(is_block_quantized(args.w->dtype));
      return matmul_rows_dequant(args, row_begin, row_end);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace whale::ops::cpu
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale::ops::cpu {

HWY_EXPORT(MatmulRows);

void matmul_rows(const MatmulArgs& args, int64_t row_begin, int64_t row_end) {
  HWY_DYNAMIC_DISPATCH(MatmulRows)(args, row_begin, row_end);
}

}  // namespace whale::ops::cpu
#endif  // HWY_ONCE
