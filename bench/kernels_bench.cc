// Kernel benchmarks: decode matmul (memory-bound, bytes/s) against the streaming-read bandwidth, prefill
// matmul (compute-bound, FLOP/s) against OpenBLAS sgemm peak. Run: whale_kernel_bench [--benchmark_filter=..]
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "ops/bandwidth.h"
#include "ops/ops.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace whale {
namespace {

ThreadPool& bench_pool() {
  static ThreadPool pool;  // one thread per core
  return pool;
}

std::vector<float> random_floats(size_t count, float scale) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(count);
  for (float& f : v) f = dist(rng);
  return v;
}

// Weight [m, k] in `dtype` (fp8 with block scales): row r is a random pattern rotated by r, converted once.
struct BenchWeight {
  DType dtype;
  std::vector<uint8_t> bytes;  // [m, k] stored elements
  std::vector<float> scales;   // [ceil(m/128), ceil(k/128)] for fp8
  MatrixView view;

  BenchWeight(DType dtype_, int64_t m, int64_t k) : dtype(dtype_), bytes(size_t(m * k) * dtype_size(dtype_)) {
    const size_t esize = dtype_size(dtype);
    const std::vector<float> values = random_floats(size_t(k), 1.0f);
    std::vector<uint8_t> pattern(2 * size_t(k) * esize);  // [2k] stored elements: values twice
    for (size_t i = 0; i < 2 * size_t(k); ++i) {
      const float v = values[i % size_t(k)];
      uint8_t* dst = pattern.data() + i * esize;
      switch (dtype) {
        case DType::F32: std::memcpy(dst, &v, 4); break;
        case DType::BF16: *reinterpret_cast<uint16_t*>(dst) = f32_to_bf16(v); break;
        case DType::F16: *reinterpret_cast<uint16_t*>(dst) = f32_to_f16(v); break;
        default: *dst = f32_to_f8e4m3(v * 400.0f); break;
      }
    }
    for (int64_t r = 0; r < m; ++r)
      std::memcpy(bytes.data() + size_t(r * k) * esize, pattern.data() + size_t(r % k) * esize, size_t(k) * esize);
    if (dtype == DType::F8E4M3) scales.assign(size_t(((m + 127) / 128) * ((k + 127) / 128)), 1.0f / 400.0f);
    view = MatrixView{dtype, m, k, bytes.data(), scales.empty() ? nullptr : scales.data()};
  }
};

// The weight of the previous benchmark run is kept, so that repetitions do not rebuild it.
const MatrixView& bench_weight(DType dtype, int64_t m, int64_t k) {
  static std::unique_ptr<BenchWeight> last;
  if (!last || last->dtype != dtype || last->view.rows != m || last->view.cols != k) {
    last.reset();
    last = std::make_unique<BenchWeight>(dtype, m, k);
  }
  return last->view;
}

// Args: dtype, n, m, k.
void run_matmul(benchmark::State& state) {
  const auto dtype = DType(state.range(0));
  const int64_t n = state.range(1), m = state.range(2), k = state.range(3);
  const MatrixView& w = bench_weight(dtype, m, k);
  const std::vector<float> x = random_floats(size_t(n * k), 1.0f);  // [n, k]
  std::vector<float> y(size_t(n * m));                               // [n, m]
  for (auto _ : state) {
    ops::matmul(bench_pool(), x.data(), n, w, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = double(w.nbytes()) + 4.0 * double(n * (k + m));
  state.SetBytesProcessed(int64_t(bytes * double(state.iterations())));
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * double(n * m * k), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(dtype_name(dtype)));
}

constexpr int64_t kF32 = int64_t(DType::F32), kBF16 = int64_t(DType::BF16), kF8 = int64_t(DType::F8E4M3);

BENCHMARK(run_matmul)
    ->Name("matmul_decode")
    ->ArgNames({"dtype", "n", "m", "k"})
    ->Args({kBF16, 1, 2048, 2048})
    ->Args({kBF16, 1, 1408, 2048})
    ->Args({kBF16, 1, 102400, 2048})
    ->Args({kBF16, 8, 2048, 2048})
    ->Args({kBF16, 4, 102400, 2048})
    ->Args({kBF16, 8, 102400, 2048})
    ->Args({kF8, 1, 102400, 2048})
    ->Args({kF32, 1, 51200, 2048})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(run_matmul)
    ->Name("matmul_prefill")
    ->ArgNames({"dtype", "n", "m", "k"})
    ->Args({kBF16, 9, 2048, 2048})
    ->Args({kBF16, 32, 2048, 2048})
    ->Args({kBF16, 128, 2048, 2048})
    ->Args({kBF16, 512, 2048, 2048})
    ->Args({kF8, 512, 2048, 2048})
    ->Args({kF32, 512, 2048, 2048})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Streaming read of a 1 GiB float array with SIMD on every pool thread: the machine's practical bandwidth.
void read_bandwidth(benchmark::State& state) {
  const size_t count = (size_t(1) << 30) / sizeof(float);
  std::unique_ptr<float[]> data(new float[count]);  // [count]
  float* p = data.get();
  bench_pool().parallel_for(count, 1 << 16, [p](size_t b, size_t e) { std::fill(p + b, p + e, 1.0f); });
  for (auto _ : state) benchmark::DoNotOptimize(ops::parallel_sum(bench_pool(), p, count));
  state.SetBytesProcessed(int64_t(count * sizeof(float)) * state.iterations());
}
BENCHMARK(read_bandwidth)->UseRealTime()->Unit(benchmark::kMillisecond);

// OpenBLAS sgemm peak: C[n, n] = A[n, n] · B[n, n] with its own 2 threads.
void sgemm_peak(benchmark::State& state) {
  const int n = int(state.range(0));
  const std::vector<float> a = random_floats(size_t(n) * n, 1.0f), b = random_floats(size_t(n) * n, 1.0f);
  std::vector<float> c(size_t(n) * n);
  openblas_set_num_threads(int(state.range(1)));
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(),
                n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * double(n) * n * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(sgemm_peak)->ArgNames({"n", "threads"})->Args({1024, 2})->Args({1024, 1})->UseRealTime();

}  // namespace
}  // namespace whale

BENCHMARK_MAIN();
