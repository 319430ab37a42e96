#include "engine/logprobs.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>

namespace whale {

void compute_logprobs(const float* logits, int64_t vocab, int64_t k, SampledToken& token) {
  // log p_i = x_i - (max + log Σ exp(x_j - max)), accumulated in double for large vocabularies.
  const float max_logit = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - max_logit);
  const double log_z = max_logit + std::log(sum);
  token.logprob = float(logits[token.id] - log_z);

  token.top.clear();
  if (k <= 0) return;
  std::vector<int32_t> ids(static_cast<size_t>(vocab));
  std::iota(ids.begin(), ids.end(), 0);
  const size_t n = size_t(std::min(k, vocab));
  std::partial_sort(ids.begin(), ids.begin() + std::ptrdiff_t(n), ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  for (size_t i = 0; i < n; ++i) token.top.push_back({ids[i], float(logits[ids[i]] - log_z)});
}

}  // namespace whale
