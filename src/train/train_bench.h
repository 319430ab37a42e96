// Training throughput measurements for `whale bench train`: optimizer steps on random tokens (forward,
// backward, AdamW) timed end to end, and the f32 GEMM peak of the BLAS the training ops use, as the
// ceiling to compare achieved GFLOP/s with.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "train/params.h"

namespace whale {

struct TrainBenchResult {
  int64_t tokens_per_step = 0;
  double seconds_per_step = 0;  // best of the timed steps
  double tokens_per_s = 0;
  double gflop_per_s = 0;       // matmul FLOPs (training_flops_per_token) per second
};

// `warmup` untimed steps, then the best of `steps` timed ones, each over batch × seq random tokens.
TrainBenchResult bench_training(ParamSet& params, ThreadPool& pool, int64_t batch, int64_t seq, int64_t warmup,
                                int64_t steps);

// Best GFLOP/s of an n × n × n cblas_sgemm over `repeats` runs, with the BLAS's current thread count.
double sgemm_peak_gflops(int64_t n, int64_t repeats);

}  // namespace whale
