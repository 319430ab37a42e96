// Element-wise and row-wise f32 ops (dot, axpy, rmsnorm, softmax, silu_mul) with Highway SIMD; tails that do
// not fill a vector are done in scalar code with the same formula.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/ops.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/vector_ops.cc"
// clang-format off: foreach_target.h must come first, math-inl.h after highway.h
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>
#include <hwy/contrib/math/math-inl.h>
// clang-format on

HWY_BEFORE_NAMESPACE();
namespace whale::ops {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using VF = hn::Vec<DF>;

// exp(-v) overflows f32 below this, after which silu(v) is 0 to f32 precision anyway.
constexpr float kSiluMinArg = -88.0f;

// sum_i a[i] * b[i] (a == b gives the sum of squares); four accumulators hide the FMA latency.
HWY_INLINE float dot_impl(const float* a, const float* b, int64_t k) {
  const DF d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  VF s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  int64_t i = 0;
  for (; i + 4 * lanes <= k; i += 4 * lanes) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + i + lanes), hn::LoadU(d, b + i + lanes), s1);
    s2 = hn::MulAdd(hn::LoadU(d, a + i + 2 * lanes), hn::LoadU(d, b + i + 2 * lanes), s2);
    s3 = hn::MulAdd(hn::LoadU(d, a + i + 3 * lanes), hn::LoadU(d, b + i + 3 * lanes), s3);
  }
  for (; i + lanes <= k; i += lanes) s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
  float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < k; ++i) sum += a[i] * b[i];
  return sum;
}

float Dot(const float* a, const float* b, int64_t k) { return dot_impl(a, b, k); }

void Axpy(float alpha, const float* x, float* y, int64_t k) {
  const DF d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  const VF av = hn::Set(d, alpha);
  int64_t i = 0;
  for (; i + lanes <= k; i += lanes)
    hn::StoreU(hn::MulAdd(av, hn::LoadU(d, x + i), hn::LoadU(d, y + i)), d, y + i);
  for (; i < k; ++i) y[i] += alpha * x[i];
}

void RmsNorm(const float* x, const float* weight, int64_t n, int64_t dim, float eps, float* out) {
  const DF d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  for (int64_t t = 0; t < n; ++t) {
    const float* xr = x + t * dim;  // [dim]
    float* yr = out + t * dim;      // [dim]
    // As torch: x * rsqrt(mean(x²) + eps), then * weight, all in f32.
    const float inv = 1.0f / std::sqrt(dot_impl(xr, xr, dim) / float(dim) + eps);
    const VF iv = hn::Set(d, inv);
    int64_t i = 0;
    for (; i + lanes <= dim; i += lanes)
      hn::StoreU(hn::Mul(hn::Mul(hn::LoadU(d, xr + i), iv), hn::LoadU(d, weight + i)), d, yr + i);
    for (; i < dim; ++i) yr[i] = xr[i] * inv * weight[i];
  }
}

void Softmax(float* x, int64_t n, int64_t dim) {
  const DF d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  for (int64_t t = 0; t < n; ++t) {
    float* row = x + t * dim;  // [dim]
    VF mv = hn::Set(d, -std::numeric_limits<float>::infinity());
    int64_t i = 0;
    for (; i + lanes <= dim; i += lanes) mv = hn::Max(mv, hn::LoadU(d, row + i));
    float max = hn::GetLane(hn::MaxOfLanes(d, mv));
    for (; i < dim; ++i) max = std::max(max, row[i]);

    const VF maxv = hn::Set(d, max);
    VF sv = hn::Zero(d);
    for (i = 0; i + lanes <= dim; i += lanes) {
      const VF e = hn::Exp(d, hn::Sub(hn::LoadU(d, row + i), maxv));
      hn::StoreU(e, d, row + i);
      sv = hn::Add(sv, e);
    }
    float sum = hn::GetLane(hn::SumOfLanes(d, sv));
    for (; i < dim; ++i) sum += row[i] = std::exp(row[i] - max);

    const float inv = 1.0f / sum;
    const VF iv = hn::Set(d, inv);
    for (i = 0; i + lanes <= dim; i += lanes) hn::StoreU(hn::Mul(hn::LoadU(d, row + i), iv), d, row + i);
    for (; i < dim; ++i) row[i] *= inv;
  }
}

void SiluMul(const float* gate, const float* up, int64_t count, float* out) {
  const DF d;
  const int64_t lanes = int64_t(hn::Lanes(d));
  const VF one = hn::Set(d, 1.0f), min_arg = hn::Set(d, kSiluMinArg);
  int64_t i = 0;
  for (; i + lanes <= count; i += lanes) {
    const VF g = hn::LoadU(d, gate + i);
    const VF silu = hn::Div(g, hn::Add(one, hn::Exp(d, hn::Neg(hn::Max(g, min_arg)))));
    hn::StoreU(hn::Mul(silu, hn::LoadU(d, up + i)), d, out + i);
  }
  for (; i < count; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-std::max(g, kSiluMinArg))) * up[i];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace whale::ops
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale::ops {

HWY_EXPORT(Dot);
HWY_EXPORT(Axpy);
HWY_EXPORT(RmsNorm);
HWY_EXPORT(Softmax);
HWY_EXPORT(SiluMul);

float dot(const float* a, const float* b, int64_t k) { return HWY_DYNAMIC_DISPATCH(Dot)(a, b, k); }

void axpy(float alpha, const float* x, float* y, int64_t k) { HWY_DYNAMIC_DISPATCH(Axpy)(alpha, x, y, k); }

void rmsnorm(const float* x, const float* weight, int64_t n, int64_t d, float eps, float* out) {
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, weight, n, d, eps, out);
}

void softmax(float* x, int64_t n, int64_t d) { HWY_DYNAMIC_DISPATCH(Softmax)(x, n, d); }

void silu_mul(const float* gate, const float* up, int64_t count, float* out) {
  HWY_DYNAMIC_DISPATCH(SiluMul)(gate, up, count, out);
}

}  // namespace whale::ops
#endif  // HWY_ONCE
