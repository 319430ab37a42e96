#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/ops.h"

namespace whale {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kBlock = 64;  // values per partial sum (draw, mass_at_least) or per skip test (top-k)

// The order of the definition: higher logit first, then lower id.
constexpr auto kByRank = [](const auto& a, const auto& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
};

// The loops below keep 8 independent accumulators, so that they vectorize without reassociating floats.

// Σ term(i) for i in [0, n).
template <class Term>
float lane_sum(int64_t n, Term term) {
  float acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += term(i + k);
  for (; i < n; ++i) acc[0] += term(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

float max_value(const float* values, int64_t n) {
  float acc[8];
  std::fill(acc, acc + 8, -kInf);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] = std::max(acc[k], values[i + k]);
  for (; i < n; ++i) acc[0] = std::max(acc[0], values[i]);
  return *std::max_element(acc, acc + 8);
}

// Σ probs[i] over the i in [0, n) with logits[i] >= t: float lanes per block, blocks added in double.
double mass_at_least(const float* logits, const float* probs, int64_t n, float t) {
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock)
    total += lane_sum(std::min(kBlock, n - b), [&](int64_t i) { return float(logits[b + i] >= t) * probs[b + i]; });
  return total;
}

// probs[i] = 0 where logits[i] < t, for i in [0, n).
void cut_below(const float* logits, float* probs, int64_t n, float t) {
  for (int64_t i = 0; i < n; ++i) probs[i] = logits[i] < t ? 0.0f : probs[i];
}

// min-p as a logit: p >= min_p · p_max  ⇔  logit >= max + T · ln(min_p).
float min_p_floor(const SamplingParams& params, float max_logit) {
  return params.min_p > 0.0f ? max_logit + params.temperature * std::log(params.min_p) : -kInf;
}

}  // namespace

void SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) fail("temperature must be >= 0, got {}", temperature);
  if (top_k < 0) fail("top_k must be >= 0, got {}", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) fail("top_p must be in (0, 1], got {}", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) fail("min_p must be in [0, 1], got {}", min_p);
}

int32_t argmax(const float* values, int64_t n) {
  const float* at = std::find(values, values + n, max_value(values, n));
  if (at == values + n) at = std::max_element(values, values + n);  // a NaN hid the maximum
  return int32_t(at - values);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { params_.validate(); }

int32_t Sampler::sample(const float* logits, int64_t vocab) {
  if (params_.temperature == 0.0f) return argmax(logits, vocab);
  if (params_.top_k > 0 && params_.top_k < vocab) return sample_top_k(logits, vocab);
  return sample_dense(logits, vocab);
}

int32_t Sampler::sample_top_k(const float* logits, int64_t vocab) {
  // One pass with a bounded candidate set: when it fills, nth_element keeps the k best so far, whose last
  // logit then bars the tokens that cannot enter any more. Blocks of kBlock logits all below the bar (most
  // of them, soon) are skipped by a vectorized count.
  const size_t k = size_t(params_.top_k);
  const size_t capacity = 2 * k + 256;
  candidates_.clear();
  float bar = -kInf;
  auto keep_best_k = [&] {
    std::nth_element(candidates_.begin(), candidates_.begin() + ptrdiff_t(k - 1), candidates_.end(), kByRank);
    candidates_.resize(k);
    bar = candidates_[k - 1].logit;
  };
  for (int64_t b = 0; b < vocab; b += kBlock) {
    const int64_t m = std::min(kBlock, vocab - b);
    if (lane_sum(m, [&](int64_t i) { return float(logits[b + i] >= bar); }) == 0) continue;
    for (int64_t i = b; i < b + m; ++i) {
      if (!(logits[i] >= bar)) continue;  // NaN never enters
      candidates_.push_back({logits[i], int32_t(i)});
      if (candidates_.size() == capacity) keep_best_k();
    }
  }
  if (candidates_.size() > k) keep_best_k();
  const size_t n = candidates_.size();  // k, or fewer if NaN logits were skipped
  if (n == 0) return argmax(logits, vocab);

  // Softmax over the k (unnormalized), sorted for top-p: the shortest prefix reaching top_p of their mass.
  if (params_.top_p < 1.0f) std::sort(candidates_.begin(), candidates_.end(), kByRank);
  const float max_logit = std::min_element(candidates_.begin(), candidates_.end(), kByRank)->logit;
  probs_.resize(n);
  for (size_t j = 0; j < n; ++j) probs_[j] = std::exp((candidates_[j].logit - max_logit) / params_.temperature);
  size_t cut = n;
  if (params_.top_p < 1.0f) {
    const double target = params_.top_p * lane_sum(int64_t(n), [&](int64_t j) { return probs_[size_t(j)]; });
    double mass = 0;
    for (cut = 0; cut < n;)
      if ((mass += probs_[cut++]) >= target) break;
  }
  const float floor = min_p_floor(params_, max_logit);
  for (size_t j = 0; j < cut; ++j) probs_[j] = candidates_[j].logit < floor ? 0.0f : probs_[j];
  return candidates_[size_t(draw(probs_.data(), int64_t(cut)))].id;
}

int32_t Sampler::sample_dense(const float* logits, int64_t vocab) {
  const float max_logit = max_value(logits, vocab);
  probs_.resize(size_t(vocab));
  float* p = probs_.data();  // [vocab]
  // × 1 / T (capped: a subnormal T would make it inf, and 0 · inf NaN at the maximum) vectorizes better than ÷.
  const float inv_t = std::min(1.0f / params_.temperature, std::numeric_limits<float>::max());
  for (int64_t i = 0; i < vocab; ++i) p[i] = (logits[i] - max_logit) * inv_t;
  ops::softmax(p, 1, vocab);
  // top-p is relative to the whole distribution: its mass before min-p cuts.
  const double total = params_.top_p < 1.0f ? mass_at_least(logits, p, vocab, -kInf) : 0.0;
  if (params_.min_p > 0.0f) cut_below(logits, p, vocab, min_p_floor(params_, max_logit));
  // top-p by rejection (as FlashInfer's sampler): token j is in the nucleus iff the mass ranked before it
  // is below top_p. A draw outside it cuts every token from it on (none of them is in the nucleus either)
  // and draws again from the rest, which still holds the whole nucleus: the accepted token is distributed
  // as p restricted to the nucleus. Expected draws: about 1 + ln(1 / top_p).
  while (true) {
    const int64_t j = draw(p, vocab);
    if (params_.top_p == 1.0f) return int32_t(j);
    // Tokens with a lower id rank before j from its logit up, those with a higher id only above it.
    const float after = std::nextafter(logits[j], kInf);
    const double before = mass_at_least(logits, p, j, logits[j]) +
                          mass_at_least(logits + j + 1, p + j + 1, vocab - j - 1, after);
    if (before < params_.top_p * total) return int32_t(j);
    cut_below(logits, p, j, logits[j]);
    cut_below(logits + j, p + j, vocab - j, after);
  }
}

int64_t Sampler::draw(const float* weights, int64_t n) {
  // Sums of blocks of weights first, so that the walk reads the weights of one block only. Rounding that
  // carries u past every weight falls to the last positive one.
  const int64_t n_blocks = (n + kBlock - 1) / kBlock;
  block_sums_.resize(size_t(n_blocks));
  double total = 0;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const float* w = weights + b * kBlock;
    total += block_sums_[size_t(b)] = lane_sum(std::min(kBlock, n - b * kBlock), [&](int64_t i) { return w[i]; });
  }
  double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
  int64_t block = -1, b = 0;
  for (; b < n_blocks; ++b) {
    const double s = block_sums_[size_t(b)];
    if (s <= 0) continue;
    block = b;
    if (u < s) break;
    u -= s;
  }
  if (b == n_blocks) u = kInf;
  const float* w = weights + block * kBlock;
  int64_t pick = 0;
  for (int64_t i = 0; i < std::min(kBlock, n - block * kBlock); ++i) {
    if (w[i] <= 0) continue;
    pick = i;
    if (u < w[i]) break;
    u -= w[i];
  }
  return block * kBlock + pick;
}

}  // namespace whale
