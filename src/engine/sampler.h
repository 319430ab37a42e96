// Next-token sampling from logits: greedy (temperature 0) or temperature + top-k + top-p + min-p, seeded.
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
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // (probability or logit, id)
};

int32_t argmax(const float* values, int64_t n);  // first maximum, as torch.argmax

}  // namespace whale
