// Streaming-read memory bandwidth of this machine: the ceiling for memory-bound decode matmuls.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace whale::ops {

// Sum of p[0, count) with SIMD, split over the pool; reads memory as fast as the machine can.
double parallel_sum(ThreadPool& pool, const float* p, size_t count);

// Best-of-several GB/s (1e9 bytes/s) of parallel_sum over a freshly filled buffer of `bytes` bytes.
double measure_read_bandwidth_gbs(ThreadPool& pool, size_t bytes = 1ull << 30);

}  // namespace whale::ops
