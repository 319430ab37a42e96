#include "engine/logprobs.h"

#include <algorithm>
#include <cmath>

namespace whale {

void compute_logprobs(const float* logits, int64_t vocab, int64_t k, SampledToken& token) {
  // log p_i = x_i - (max + log Σ exp(x_j - max)), accumulated in double for large vocabularies.
  const float max_logit = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - max_logit);
  const double log_z = max_logit + std::log(sum);
  token.logprob = float(logits[token.id] - log_z);

  // Top k (k <= 20) in one pass: a sorted list into which a larger logit is inserted (ties keep the lower id).
  std::vector<TokenLogprob>& top = token.top;
  top.clear();
  const size_t n = size_t(std::min(k, vocab));
  if (n == 0) return;
  for (int64_t i = 0; i < vocab; ++i) {
    const float x = logits[i];
    if (top.size() == n && x <= top.back().logprob) continue;
    if (top.size() == n) top.pop_back();
    auto at = std::upper_bound(top.begin(), top.end(), x, [](float v, const TokenLogprob& t) { return v > t.logprob; });
    top.insert(at, {int32_t(i), x});
  }
  for (TokenLogprob& t : top) t.logprob = float(t.logprob - log_z);  // logits → log-probabilities
}

}  // namespace whale
