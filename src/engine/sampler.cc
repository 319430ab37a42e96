#include "engine/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whale {

void SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) fail("temperature must be >= 0, got {}", temperature);
  if (top_k < 0) fail("top_k must be >= 0, got {}", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) fail("top_p must be in (0, 1], got {}", top_p);
  if (!(min_p >= 0.0f && min_p <= 1.0f)) fail("min_p must be in [0, 1], got {}", min_p);
}

int32_t argmax(const float* values, int64_t n) {
  return int32_t(std::max_element(values, values + n) - values);
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) { params_.validate(); }

int32_t Sampler::sample(const float* logits, int64_t vocab) {
  if (params_.temperature == 0.0f) return argmax(logits, vocab);
  // Candidates sorted by logit (descending); top-k cuts the list before the softmax.
  candidates_.resize(size_t(vocab));
  for (int64_t i = 0; i < vocab; ++i) candidates_[size_t(i)] = {logits[i], int32_t(i)};
  auto by_value = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = params_.top_k > 0 ? std::min<size_t>(size_t(params_.top_k), candidates_.size()) : candidates_.size();
  std::partial_sort(candidates_.begin(), candidates_.begin() + ptrdiff_t(keep), candidates_.end(), by_value);
  candidates_.resize(keep);

  const float max_logit = candidates_[0].first;
  double sum = 0;
  for (auto& [v, id] : candidates_) sum += v = std::exp((v - max_logit) / params_.temperature);
  for (auto& c : candidates_) c.first = float(c.first / sum);
  // top-p: the smallest prefix whose mass reaches top_p; min-p: drop tokens below min_p × the top probability.
  size_t cut = candidates_.size();
  double mass = 0;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    mass += candidates_[i].first;
    if (mass >= params_.top_p) {
      cut = i + 1;
      break;
    }
  }
  const float floor = params_.min_p * candidates_[0].first;
  while (cut > 1 && candidates_[cut - 1].first < floor) --cut;
  candidates_.resize(cut);

  double total = 0;
  for (const auto& c : candidates_) total += c.first;
  double u = std::uniform_real_distribution<double>(0.0, total)(rng_);
  for (const auto& c : candidates_) {
    u -= c.first;
    if (u <= 0) return c.second;
  }
  return candidates_.back().second;
}

}  // namespace whale
