// Streaming-read bandwidth: a SIMD sum over a large buffer, split across the thread pool.
#include "ops/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>

#include "core/error.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "ops/cpu/bandwidth.cc"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace whale::ops {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Four independent accumulators so the adds never wait on each other; only loads limit the speed.
double SumFloats(const float* p, size_t count) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * lanes <= count; i += 4 * lanes) {
    s0 = hn::Add(s0, hn::LoadU(d, p + i));
    s1 = hn::Add(s1, hn::LoadU(d, p + i + lanes));
    s2 = hn::Add(s2, hn::LoadU(d, p + i + 2 * lanes));
    s3 = hn::Add(s3, hn::LoadU(d, p + i + 3 * lanes));
  }
  double sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < count; ++i) sum += p[i];
  return sum;
}

}  // namespace HWY_NAMESPACE
}  // namespace whale::ops
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace whale::ops {

HWY_EXPORT(SumFloats);

namespace {
constexpr size_t kChunkFloats = size_t(1) << 16;  // 256 KiB of floats per parallel task
constexpr int kRepeats = 5;
}  // namespace

double parallel_sum(ThreadPool& pool, const float* p, size_t count) {
  std::atomic<double> total{0.0};
  const size_t n_chunks = (count + kChunkFloats - 1) / kChunkFloats;
  pool.parallel_for(n_chunks, 1, [&](size_t c0, size_t c1) {
    const size_t begin = c0 * kChunkFloats, end = std::min(count, c1 * kChunkFloats);
    total.fetch_add(HWY_DYNAMIC_DISPATCH(SumFloats)(p + begin, end - begin));
  });
  return total.load();
}

double measure_read_bandwidth_gbs(ThreadPool& pool, size_t bytes) {
  const size_t count = std::max<size_t>(bytes / sizeof(float), 1);
  std::unique_ptr<float[]> buffer(new float[count]);  // [count]
  float* data = buffer.get();
  // Fill from the pool so pages are touched by the threads that will read them.
  pool.parallel_for(count, kChunkFloats, [data](size_t b, size_t e) { std::fill(data + b, data + e, 1.0f); });
  double best_s = 0;
  for (int rep = 0; rep < kRepeats; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    const double sum = parallel_sum(pool, data, count);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WHALE_CHECK(sum == double(count));  // every partial sum of ones is exact; also keeps the reads live
    if (rep == 0 || s < best_s) best_s = s;
  }
  return double(count * sizeof(float)) / best_s / 1e9;
}

}  // namespace whale::ops
#endif  // HWY_ONCE
