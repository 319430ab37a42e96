// Next-token sampling from logits: greedy (temperature 0) or temperature + top-k + top-p + min-p, seeded.
// The distribution is the usual one (HF, OpenAI): tokens ordered by logit, ties by lower id first; top-k
// keeps the first k; p = softmax(logits / T) over those; top-p keeps the shortest prefix whose mass
// reaches top_p; min-p drops tokens with p < min_p · p_max; one token is drawn in proportion to p.
// Nothing sorts the vocabulary. Temperature and min-p: one softmax over it and a draw. top-k: one pass
// keeps a bounded candidate set (nth_element when it fills); only the k kept are sorted. top-p: draws from
// the softmax and rejects a token outside the nucleus (the mass ranked before it reaches top_p), cutting it
// and every token after it, until one is accepted. The draws take uniform numbers from the seeded
// generator, so a seed fixes the tokens.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace whale {

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy (argmax)
  int64_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off; keep tokens with p >= min_p * p_max
  uint64_t seed = 0;
  // Throws whale::Error naming the field when a value is out of range.
  void validate() const;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  int32_t sample(const float* logits, int64_t vocab);

 private:
  struct Candidate {
    float logit;
    int32_t id;
  };
  // top_k < vocab: the k first tokens as candidates, then top-p and min-p on them.
  int32_t sample_top_k(const float* logits, int64_t vocab);
  // Every token: softmax over the vocabulary; min-p and top-p zero the probabilities they cut.
  int32_t sample_dense(const float* logits, int64_t vocab);
  // Index drawn with probability weights[i] / Σ weights (weights >= 0, not all 0).
  int64_t draw(const float* weights, int64_t n);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<float> probs_;           // dense: [vocab] probabilities; top-k: [k] weights of candidates_
  std::vector<float> block_sums_;      // [ceil(n / block)] draw's partial sums
  std::vector<Candidate> candidates_;  // top-k: [<= 2k + 256] the best tokens so far, then the k kept
};

int32_t argmax(const float* values, int64_t n);  // first maximum, as torch.argmax

}  // namespace whale
