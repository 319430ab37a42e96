#include "engine/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"

namespace whale {
namespace {

// Chunk i is ids[i·step, i·step + ctx); its positions first .. ctx − 1 are scored (see the header).
struct ChunkPlan {
  int64_t ctx = 0, step = 0, first = 0, n_chunks = 0;
};

ChunkPlan plan_chunks(const Model& model, const Model* reference, std::span<const int32_t> ids,
                      const PerplexityOptions& options) {
  const ModelConfig& config = model.config();
  ChunkPlan plan;
  plan.ctx = options.ctx == 0 ? std::min(kPerplexityDefaultCtx, config.max_position) : options.ctx;
  if (plan.ctx < 3) fail("perplexity: --ctx {} is too small: a chunk needs at least 3 tokens", plan.ctx);
  if (plan.ctx > config.max_position)
    fail("perplexity: --ctx {} exceeds the model's context of {} positions", plan.ctx, config.max_position);
  if (reference && plan.ctx > reference->config().max_position)
    fail("perplexity: --ctx {} exceeds the reference model's context of {} positions", plan.ctx,
         reference->config().max_position);
  if (reference && reference->config().vocab_size != config.vocab_size)
    fail("perplexity: the reference model has {} vocabulary ids and the model {}: the KL divergence needs the same "
         "vocabulary", reference->config().vocab_size, config.vocab_size);
  if (options.stride < 0 || options.stride >= plan.ctx)
    fail("perplexity: --stride {} must be in [1, {}] (below --ctx), or 0 for chunks of --ctx", options.stride,
         plan.ctx - 1);
  if (options.max_chunks < 0) fail("perplexity: --max-chunks {} must be >= 0", options.max_chunks);
  // llama-perplexity: scored from ctx/2 + 1; a stride S scores the last S tokens of each window.
  plan.step = options.stride == 0 ? plan.ctx : options.stride;
  plan.first = options.stride == 0 ? plan.ctx / 2 + 1 : plan.ctx - options.stride;
  const int64_t n_ids = int64_t(ids.size());
  if (n_ids < plan.ctx + plan.step)
    fail("perplexity: the input has {} tokens; 2 chunks of --ctx {}{} need at least {} tokens", n_ids, plan.ctx,
         options.stride == 0 ? "" : fmt::format(" at --stride {}", options.stride), plan.ctx + plan.step);
  plan.n_chunks = (n_ids - plan.ctx) / plan.step + 1;
  if (options.max_chunks > 0) plan.n_chunks = std::min(plan.n_chunks, options.max_chunks);
  const int64_t vocab = config.vocab_size;
  if (options.bos_id >= vocab)
    fail("perplexity: BOS id {} is outside the model's vocabulary of {} ids", options.bos_id, vocab);
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= vocab)
      fail("perplexity: token id {} (index {}) is outside the model's vocabulary of {} ids", ids[i], i, vocab);
  return plan;
}

// log Σ_j exp(x_j), in double and shifted by the max, and the argmax (lowest id on ties) of one row of logits.
struct RowStats {
  double log_z = 0;
  int64_t top = 0;
};

RowStats row_stats(const float* x, int64_t vocab) {
  RowStats r;
  for (int64_t j = 1; j < vocab; ++j)
    if (x[j] > x[r.top]) r.top = j;
  const double max = x[r.top];
  double sum = 0;
  for (int64_t j = 0; j < vocab; ++j) sum += std::exp(double(x[j]) - max);
  r.log_z = max + std::log(sum);
  return r;
}

struct TokenScore {
  double nll = 0, nll_ref = 0, kl = 0;
  bool same_top = false;
};

// One scored token from the logits row that predicts it ([vocab]) and the reference's row (null without one).
TokenScore score_token(const float* x, const float* ref, int64_t vocab, int32_t target) {
  const RowStats m = row_stats(x, vocab);
  TokenScore s{.nll = m.log_z - x[target]};
  if (!ref) return s;
  const RowStats r = row_stats(ref, vocab);
  s.nll_ref = r.log_z - ref[target];
  // KL(P_ref || P) = Σ_j p_ref,j (log p_ref,j − log p_j).
  for (int64_t j = 0; j < vocab; ++j) {
    const double log_p_ref = ref[j] - r.log_z;
    s.kl += std::exp(log_p_ref) * (log_p_ref - (x[j] - m.log_z));
  }
  s.same_top = m.top == r.top;
  return s;
}

// Σv and Σv² of a per-token quantity → its mean and standard error, sqrt((mean(v²) − mean(v)²) / (N − 1)).
struct Moments {
  double sum = 0, sum_sq = 0;
  void add(double v) { sum += v, sum_sq += v * v; }
  Estimate mean(int64_t n) const {
    const double m = sum / double(n), var = sum_sq / double(n) - m * m;
    return {m, n > 1 && var > 0 ? std::sqrt(var / double(n - 1)) : 0.0};
  }
};

// exp of a mean log with the delta-method error d exp(m) = exp(m) dm (llama-perplexity's ppl_unc).
Estimate exp_of(Estimate log_value) {
  const double e = std::exp(log_value.value);
  return {e, e * log_value.error};
}

// llama-perplexity's percentile: linear interpolation between the sorted values around fraction · (N − 1).
double quantile(std::vector<double> values, double fraction) {
  const double at = fraction * double(values.size() - 1);
  const size_t i = size_t(at);
  std::nth_element(values.begin(), values.begin() + ptrdiff_t(i), values.end());
  const double lo = values[i];
  if (i + 1 == values.size()) return lo;
  const double hi = *std::min_element(values.begin() + ptrdiff_t(i) + 1, values.end());
  return lo + (at - double(i)) * (hi - lo);
}

class Accumulator {
 public:
  void add(const TokenScore& s) {
    ++n_;
    nll_.add(s.nll);
    nll_ref_.add(s.nll_ref);
    nll_diff_.add(s.nll - s.nll_ref);
    kl_.add(s.kl);
    kl_values_.push_back(s.kl);
    n_same_top_ += s.same_top;
  }

  // The statistics of the tokens so far (needs at least one).
  void fill(PerplexityStats& stats, bool has_reference) const {
    stats.tokens = n_;
    stats.perplexity = exp_of(nll_.mean(n_));
    stats.has_reference = has_reference;
    if (!has_reference) return;
    stats.ref_perplexity = exp_of(nll_ref_.mean(n_));
    const Estimate log_ratio = nll_diff_.mean(n_);
    stats.ppl_ratio_minus_1 = {std::expm1(log_ratio.value), std::exp(log_ratio.value) * log_ratio.error};
    stats.kl = kl_.mean(n_);
    stats.kl_max = *std::max_element(kl_values_.begin(), kl_values_.end());
    stats.kl_p99 = quantile(kl_values_, 0.99);
    const double p = double(n_same_top_) / double(n_);
    stats.same_top_p = {p, n_ > 1 ? std::sqrt(p * (1 - p) / double(n_ - 1)) : 0.0};
  }

 private:
  int64_t n_ = 0, n_same_top_ = 0;
  Moments nll_, nll_ref_, nll_diff_, kl_;
  std::vector<double> kl_values_;  // [tokens]
};

}  // namespace

PerplexityStats perplexity(Model& model, Model* reference, std::span<const int32_t> ids,
                           const PerplexityOptions& options, const PerplexityCallback& on_chunk) {
  const auto start = std::chrono::steady_clock::now();
  const ChunkPlan plan = plan_chunks(model, reference, ids, options);
  const int64_t vocab = model.config().vocab_size;
  const size_t n_scored = size_t(plan.ctx - plan.first);
  std::vector<int32_t> chunk(static_cast<size_t>(plan.ctx));  // [ctx]
  std::vector<float> logits, ref_logits;                      // [ctx, vocab]
  std::vector<TokenScore> scores(n_scored);                   // [ctx − first]
  Accumulator accumulator;
  PerplexityStats stats{.ctx = plan.ctx, .total_chunks = plan.n_chunks};
  for (int64_t c = 0; c < plan.n_chunks; ++c) {
    const auto begin = ids.begin() + c * plan.step;
    std::copy(begin, begin + plan.ctx, chunk.begin());
    if (options.bos_id >= 0) chunk[0] = options.bos_id;
    model.forward_full(chunk, 1, plan.ctx, {}, logits);
    if (reference) reference->forward_full(chunk, 1, plan.ctx, {}, ref_logits);
    // Logits row t − 1 predicts the token at position t.
    model.pool().parallel_for(n_scored, 1, [&](size_t lo, size_t hi) {
      for (size_t k = lo; k < hi; ++k) {
        const int64_t row = plan.first + int64_t(k) - 1;
        scores[k] = score_token(logits.data() + row * vocab, reference ? ref_logits.data() + row * vocab : nullptr,
                                vocab, chunk[size_t(row + 1)]);
      }
    });
    for (const TokenScore& s : scores) accumulator.add(s);
    accumulator.fill(stats, reference != nullptr);
    stats.chunks = c + 1;
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (on_chunk) on_chunk(stats);
  }
  return stats;
}

}  // namespace whale
