// CPU ops against plain scalar references written here (double accumulation, dtype conversions from
// tensor/dtype.h), over every weight dtype, odd shapes, accumulate on/off and pools of 1 and 3 threads.
#include "ops/ops.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "ops/bandwidth.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace whale {
namespace {

constexpr double kRelTol = 1e-5;

// Runs `body` once for every SIMD target compiled in and supported here (AVX-512, AVX2, SSE4, emulated...),
// so that machines without AVX-512 are covered too.
template <class Body>
void for_each_simd_target(const Body& body) {
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    body();
  }
  hwy::SetSupportedTargetsForTest(0);  // back to the real CPU
}

std::vector<float> random_floats(size_t count, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (float& f : v) f = dist(rng);
  return v;
}

// A weight matrix in its stored dtype plus the dequantized f32 values the reference uses.
struct Weight {
  DType dtype;
  int64_t rows, cols;
  std::vector<uint8_t> bytes;  // [rows, cols] stored elements
  std::vector<float> scales;   // [ceil(rows/128), ceil(cols/128)] or empty
  std::vector<float> dequant;  // [rows, cols]

  MatrixView view() const {
    return MatrixView{dtype, rows, cols, bytes.data(), scales.empty() ? nullptr : scales.data()};
  }
};

Weight make_weight(DType dtype, int64_t rows, int64_t cols, bool with_scales, std::mt19937& rng) {
  Weight w{dtype, rows, cols, std::vector<uint8_t>(size_t(rows * cols) * dtype_size(dtype)), {}, {}};
  const int64_t row_blocks = (rows + 127) / 128, col_blocks = (cols + 127) / 128;
  if (with_scales) w.scales = random_floats(size_t(row_blocks * col_blocks), rng, 0.25f, 2.0f);
  // fp8 values span its range (max 448); the others are in [-1, 1].
  const std::vector<float> values = random_floats(
      size_t(rows * cols), rng, dtype == DType::F8E4M3 ? -300.f : -1.f, dtype == DType::F8E4M3 ? 300.f : 1.f);
  w.dequant.resize(values.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const size_t i = size_t(r * cols + c);
      float stored = 0;
      switch (dtype) {
        case DType::F32:
          reinterpret_cast<float*>(w.bytes.data())[i] = stored = values[i];
          break;
        case DType::BF16: {
          const uint16_t b = f32_to_bf16(values[i]);
          reinterpret_cast<uint16_t*>(w.bytes.data())[i] = b;
          stored = bf16_to_f32(b);
          break;
        }
        case DType::F16: {
          const uint16_t h = f32_to_f16(values[i]);
          reinterpret_cast<uint16_t*>(w.bytes.data())[i] = h;
          stored = f16_to_f32(h);
          break;
        }
        case DType::F8E4M3: {
          const uint8_t q = f32_to_f8e4m3(values[i]);
          w.bytes[i] = q;
          stored = f8e4m3_to_f32(q);
          break;
        }
        default:
          ADD_FAILURE() << "not a weight dtype";
      }
      const float scale = with_scales ? w.scales[size_t((r / 128) * col_blocks + c / 128)] : 1.0f;
      w.dequant[i] = stored * scale;
    }
  return w;
}

// y[n, m] = x · Wᵀ in double; `magnitude` gets Σ|x·w| per output, the scale of rounding error.
void reference_matmul(const std::vector<float>& x, int64_t n, const Weight& w, std::vector<double>& y,
                      std::vector<double>& magnitude) {
  y.assign(size_t(n * w.rows), 0.0);
  magnitude.assign(y.size(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < w.rows; ++r)
      for (int64_t c = 0; c < w.cols; ++c) {
        const double p = double(x[size_t(i * w.cols + c)]) * w.dequant[size_t(r * w.cols + c)];
        y[size_t(i * w.rows + r)] += p;
        magnitude[size_t(i * w.rows + r)] += std::abs(p);
      }
}

struct MatmulCase {
  DType dtype;
  bool with_scales;
};

class MatmulTest : public ::testing::TestWithParam<MatmulCase> {};

TEST_P(MatmulTest, MatchesScalarReference) {
  for_each_simd_target([&] {
    const MatmulCase param = GetParam();
    std::mt19937 rng(1234);
    ThreadPool pool1(1), pool3(3);
    const std::vector<std::pair<int64_t, int64_t>> shapes = {
        {200, 300}, {37, 7}, {5, 1}, {64, 33}, {130, 256}};
    for (auto [m, k] : shapes) {
      const Weight w = make_weight(param.dtype, m, k, param.with_scales, rng);
      for (int64_t n : {1, 2, 3, 4, 5, 8, 9, 17, 64}) {
        const std::vector<float> x = random_floats(size_t(n * k), rng);
        std::vector<double> ref, magnitude;
        reference_matmul(x, n, w, ref, magnitude);
        for (bool accumulate : {false, true})
          for (ThreadPool* pool : {&pool1, &pool3}) {
            // Without accumulate the output starts as NaN to show every element is written.
            std::vector<float> y =
                accumulate ? random_floats(ref.size(), rng)
                           : std::vector<float>(ref.size(), std::numeric_limits<float>::quiet_NaN());
            const std::vector<float> y0 = y;
            ops::matmul(*pool, x.data(), n, w.view(), y.data(), accumulate);
            for (size_t i = 0; i < y.size(); ++i) {
              const double expect = ref[i] + (accumulate ? y0[i] : 0.0);
              const double tol = kRelTol * (magnitude[i] + (accumulate ? std::abs(y0[i]) : 0.0)) + 1e-30;
              ASSERT_NEAR(y[i], expect, tol)
                  << dtype_name(param.dtype) << " m=" << m << " k=" << k << " n=" << n
                  << " accumulate=" << accumulate << " threads=" << pool->size() << " index=" << i;
            }
          }
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, MatmulTest,
                         ::testing::Values(MatmulCase{DType::F32, false}, MatmulCase{DType::BF16, false},
                                           MatmulCase{DType::F16, false}, MatmulCase{DType::F8E4M3, true},
                                           MatmulCase{DType::BF16, true}),
                         [](const auto& info) {
                           return std::string(dtype_name(info.param.dtype)) +
                                  (info.param.with_scales ? "_scaled" : "");
                         });

// Batch invariance: each row of a batched matmul is bit-identical to the same row computed alone, for every
// weight dtype and pool size (what makes cached decoding equal to a batched forward, and a request's greedy
// output independent of the requests batched with it).
TEST(Matmul, RowsAreBitIdenticalAloneOrBatched) {
  std::mt19937 rng(11);
  for (DType dt : {DType::F32, DType::BF16, DType::F16, DType::F8E4M3}) {
    const int64_t n = 37, m = 200, k = 300;
    const Weight w = make_weight(dt, m, k, dt == DType::F8E4M3, rng);
    const std::vector<float> x = random_floats(size_t(n * k), rng);
    for (size_t threads : {1, 3}) {
      ThreadPool pool(threads);
      std::vector<float> batched(size_t(n * m)), alone(static_cast<size_t>(m));
      ops::matmul(pool, x.data(), n, w.view(), batched.data());
      for (int64_t i = 0; i < n; ++i) {
        ops::matmul(pool, x.data() + i * k, 1, w.view(), alone.data());
        ASSERT_EQ(std::memcmp(alone.data(), batched.data() + i * m, size_t(m) * sizeof(float)), 0)
            << dtype_name(dt) << " row " << i << " threads " << threads;
      }
    }
  }
}

// Every fp8 code through both paths: row r of W holds code r, so y[r] = 16 · decode(r) · scale exactly.
TEST(Matmul, DecodesEveryF8Code) {
  for_each_simd_target([&] {
    ThreadPool pool(2);
    const int64_t m = 256, k = 16;
    std::vector<uint8_t> codes(size_t(m * k));
    for (int64_t r = 0; r < m; ++r) std::fill_n(codes.begin() + r * k, k, uint8_t(r));
    const std::vector<float> scales = {0.5f, 2.0f};  // [2, 1]: rows 0..127, rows 128..255
    const MatrixView w{DType::F8E4M3, m, k, codes.data(), scales.data()};
    for (int64_t n : {1, 9}) {  // single-row and multi-tile batches
      const std::vector<float> x(size_t(n * k), 1.0f);
      std::vector<float> y(size_t(n * m));
      ops::matmul(pool, x.data(), n, w, y.data());
      for (int64_t r = 0; r < m; ++r) {
        const float expect = 16.0f * f8e4m3_to_f32(uint8_t(r)) * scales[size_t(r / 128)];
        for (int64_t i = 0; i < n; ++i) {
          const float got = y[size_t(i * m + r)];
          if (std::isnan(expect))
            EXPECT_TRUE(std::isnan(got)) << "code " << r << " n=" << n;
          else
            EXPECT_EQ(got, expect) << "code " << r << " n=" << n;
        }
      }
    }
  });
}

TEST(Matmul, EmptyInnerDimensionGivesZeros) {
  ThreadPool pool(2);
  std::vector<float> y(6, 5.0f);
  const MatrixView w{DType::F32, 3, 0, nullptr, nullptr};
  ops::matmul(pool, nullptr, 2, w, y.data(), /*accumulate=*/true);
  EXPECT_EQ(y, std::vector<float>(6, 5.0f));
  ops::matmul(pool, nullptr, 2, w, y.data());
  EXPECT_EQ(y, std::vector<float>(6, 0.0f));
}

void expect_matmul_error(const MatrixView& w, const float* x, float* y, const std::string& needle) {
  ThreadPool pool(1);
  try {
    ops::matmul(pool, x, 1, w, y);
    ADD_FAILURE() << "expected whale::Error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Matmul, RejectsBadWeights) {
  std::vector<float> x(4, 1.0f), y(2);
  std::vector<int64_t> ints(8);
  expect_matmul_error(MatrixView{DType::I64, 2, 4, ints.data(), nullptr}, x.data(), y.data(), "dtype I64");
  std::vector<uint8_t> fp8(8);
  expect_matmul_error(MatrixView{DType::F8E4M3, 2, 4, fp8.data(), nullptr}, x.data(), y.data(),
                      "block scales");
  expect_matmul_error(MatrixView{DType::BF16, 2, 4, nullptr, nullptr}, x.data(), y.data(), "no data");
  std::vector<float> wf(8);
  expect_matmul_error(MatrixView{DType::F32, 2, 4, wf.data(), nullptr}, nullptr, y.data(), "null activation");
  expect_matmul_error(MatrixView{DType::F32, -2, 4, wf.data(), nullptr}, x.data(), y.data(), "negative size");
}

TEST(VectorOps, DotAndAxpy) {
  for_each_simd_target([&] {
    std::mt19937 rng(7);
    for (int64_t k : {0, 1, 7, 33, 1000}) {
      const std::vector<float> a = random_floats(size_t(k), rng), b = random_floats(size_t(k), rng);
      double ref = 0, magnitude = 0;
      for (int64_t i = 0; i < k; ++i) {
        ref += double(a[size_t(i)]) * b[size_t(i)];
        magnitude += std::abs(double(a[size_t(i)]) * b[size_t(i)]);
      }
      EXPECT_NEAR(ops::dot(a.data(), b.data(), k), ref, kRelTol * magnitude + 1e-30) << "k=" << k;

      std::vector<float> y = b;
      ops::axpy(-0.75f, a.data(), y.data(), k);
      for (int64_t i = 0; i < k; ++i)
        EXPECT_NEAR(y[size_t(i)], b[size_t(i)] - 0.75 * a[size_t(i)], 1e-6) << "k=" << k << " i=" << i;
    }
  });
}

TEST(VectorOps, RmsNormMatchesTorchFormula) {
  for_each_simd_target([&] {
    std::mt19937 rng(8);
    const float eps = 1e-6f;
    for (int64_t d : {1, 7, 33, 1024}) {
      const int64_t n = 3;
      const std::vector<float> x = random_floats(size_t(n * d), rng, -3.f, 3.f),
                               w = random_floats(size_t(d), rng);
      std::vector<float> out(x.size()), in_place = x;
      ops::rmsnorm(x.data(), w.data(), n, d, eps, out.data());
      ops::rmsnorm(in_place.data(), w.data(), n, d, eps, in_place.data());
      for (int64_t t = 0; t < n; ++t) {
        double ss = 0;
        for (int64_t i = 0; i < d; ++i) ss += double(x[size_t(t * d + i)]) * x[size_t(t * d + i)];
        const double inv = 1.0 / std::sqrt(ss / double(d) + eps);
        for (int64_t i = 0; i < d; ++i) {
          const size_t j = size_t(t * d + i);
          const double ref = x[j] * inv * w[size_t(i)];
          EXPECT_NEAR(out[j], ref, kRelTol * std::abs(ref) + 1e-30) << "d=" << d << " t=" << t << " i=" << i;
          EXPECT_EQ(in_place[j], out[j]);
        }
      }
    }
  });
}

TEST(VectorOps, SoftmaxIsStableAndNormalized) {
  for_each_simd_target([&] {
    std::mt19937 rng(9);
    for (int64_t d : {1, 7, 33, 257}) {
      const int64_t n = 4;
      std::vector<float> x = random_floats(size_t(n * d), rng, -20.f, 20.f);
      for (int64_t i = 0; i < d; ++i)
        x[size_t(d + i)] += 1000.0f;  // row 1: exp would overflow without the max shift
      const std::vector<float> x0 = x;
      ops::softmax(x.data(), n, d);
      for (int64_t t = 0; t < n; ++t) {
        double max = -INFINITY, sum = 0;
        for (int64_t i = 0; i < d; ++i) max = std::max(max, double(x0[size_t(t * d + i)]));
        for (int64_t i = 0; i < d; ++i) sum += std::exp(double(x0[size_t(t * d + i)]) - max);
        for (int64_t i = 0; i < d; ++i) {
          const double ref = std::exp(double(x0[size_t(t * d + i)]) - max) / sum;
          EXPECT_NEAR(x[size_t(t * d + i)], ref, kRelTol * ref + 1e-12)
              << "d=" << d << " t=" << t << " i=" << i;
        }
      }
    }
  });
}

TEST(VectorOps, SiluMulIncludingExtremes) {
  for_each_simd_target([&] {
    std::mt19937 rng(10);
    for (int64_t count : {1, 7, 33, 1000}) {
      std::vector<float> gate = random_floats(size_t(count), rng, -12.f, 12.f),
                         up = random_floats(size_t(count), rng);
      gate[0] = -200.0f;  // exp(200) overflows f32: the result must still be a finite ~0
      if (count > 3) gate[3] = 150.0f;
      std::vector<float> out(static_cast<size_t>(count));
      std::vector<float> aliased = gate;
      ops::silu_mul(gate.data(), up.data(), count, out.data());
      ops::silu_mul(aliased.data(), up.data(), count, aliased.data());
      for (int64_t i = 0; i < count; ++i) {
        const double g = gate[size_t(i)];
        const double ref = g / (1.0 + std::exp(-g)) * up[size_t(i)];
        EXPECT_NEAR(out[size_t(i)], ref, kRelTol * std::abs(ref) + 1e-30) << "count=" << count << " i=" << i;
        EXPECT_EQ(aliased[size_t(i)], out[size_t(i)]);
      }
    }
  });
}

TEST(Bandwidth, ParallelSumAndMeasurement) {
  ThreadPool pool(3);
  std::vector<float> v(1000003);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i % 7) - 3.0f;
  double ref = 0;
  for (float f : v) ref += f;
  EXPECT_DOUBLE_EQ(ops::parallel_sum(pool, v.data(), v.size()), ref);
  EXPECT_GT(ops::measure_read_bandwidth_gbs(pool, 8u << 20), 0.0);
}

}  // namespace
}  // namespace whale
