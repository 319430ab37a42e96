// Log-probabilities of generated tokens, as the OpenAI API reports them (`logprobs`, `top_logprobs`).
// They are those of the model's distribution: log_softmax of the raw logits, before temperature, top-k,
// top-p or min-p shape the sampling distribution.
#pragma once

#include <cstdint>
#include <vector>

namespace whale {

inline constexpr int64_t kMaxTopLogprobs = 20;  // OpenAI's limit for top_logprobs

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
};

// One generated token; logprob and top are filled only for a request that asked for them.
struct SampledToken {
  int32_t id = 0;
  float logprob = 0.0f;
  std::vector<TokenLogprob> top;  // the k most likely ids, most likely first (ties: lower id first)
};

// Fills token.logprob (for token.id) and token.top (k entries, k <= vocab) from logits [vocab].
void compute_logprobs(const float* logits, int64_t vocab, int64_t k, SampledToken& token);

}  // namespace whale
