#include "train/train_bench.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>

#include "core/error.h"
#include "train/optimizer.h"
#include "train/trainer.h"

namespace whale {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TrainBenchResult bench_training(ParamSet& params, ThreadPool& pool, int64_t batch, int64_t seq, int64_t warmup,
                                int64_t steps) {
  if (batch < 1 || seq < 2 || steps < 1) fail("bench train: needs batch >= 1, seq >= 2 and steps >= 1");
  const ModelConfig& c = params.config();
  if (seq > c.max_position) fail("bench train: --seq {} exceeds the model context {}", seq, c.max_position);
  Transformer model(params);
  AdamW optimizer(AdamWConfig{});
  std::mt19937 rng(1234);
  Batch b{.batch = batch, .seq_len = seq, .tokens = {}, .mask = {}};
  b.tokens.resize(size_t(batch * (seq + 1)));
  const TrainConfig::Moe moe{.bias_update_rate = 0, .seq_aux_alpha = 0, .mtp_lambda = 0};
  double best = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < warmup + steps; ++i) {
    for (int32_t& t : b.tokens) t = int32_t(rng() % uint32_t(c.vocab_size));
    const auto start = Clock::now();
    params.zero_grad();
    batch_loss(model, pool, b, moe, params.has_mtp(), 1.0f);
    optimizer.step(params, 1e-4, &pool);
    if (i >= warmup) best = std::min(best, seconds_since(start));
  }
  TrainBenchResult r;
  r.tokens_per_step = batch * seq;
  r.seconds_per_step = best;
  r.tokens_per_s = double(r.tokens_per_step) / best;
  r.gflop_per_s = r.tokens_per_s * training_flops_per_token(c, seq, params.has_mtp()) / 1e9;
  return r;
}

double sgemm_peak_gflops(int64_t n, int64_t repeats) {
  std::vector<float> a(size_t(n * n), 0.5f), b(size_t(n * n), 0.25f), c(size_t(n * n), 0.0f);
  double best = std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < repeats + 1; ++i) {  // the first run warms up caches and BLAS threads
    const auto start = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(n), int(n), 1.0f, a.data(), int(n), b.data(),
                int(n), 0.0f, c.data(), int(n));
    if (i > 0) best = std::min(best, seconds_since(start));
  }
  return 2.0 * double(n) * double(n) * double(n) / best / 1e9;
}

}  // namespace whale
