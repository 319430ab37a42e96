// Adjustments of a request's logits before sampling, as the OpenAI API and vLLM define them:
//   logit_bias:          logits[t] += bias[t]                                  (OpenAI; bias in [-100, 100])
//   frequency_penalty:   logits[t] -= frequency_penalty · count[t]             (OpenAI; count in the completion)
//   presence_penalty:    logits[t] -= presence_penalty · [count[t] > 0]        (OpenAI)
//   repetition_penalty:  logits[t] /= p if logits[t] > 0 else logits[t] *= p, for every t seen in the prompt
//                        or the completion (CTRL, Keskar et al. 2019; HF and vLLM)
// Applied in that order (bias first, as OpenAI adds it to the logits the penalties see).
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace whale {

struct LogitAdjust {
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  float repetition_penalty = 1.0f;
  std::vector<std::pair<int32_t, float>> logit_bias;  // (token id, bias)
  bool active() const {
    return frequency_penalty != 0 || presence_penalty != 0 || repetition_penalty != 1 || !logit_bias.empty();
  }
  // Throws whale::Error naming the field when a value is out of range (ids are checked against `vocab`).
  void validate(int64_t vocab) const;
};

// The tokens a request has seen: counts in its completion, and (for the repetition penalty) the prompt's.
class TokenHistory {
 public:
  void reset(const std::vector<int32_t>& prompt, bool keep_prompt);
  void add(int32_t id) { ++completion_[id]; }
  void apply(const LogitAdjust& adjust, float* logits, int64_t vocab) const;

 private:
  std::unordered_map<int32_t, int32_t> completion_;  // id → times generated
  std::vector<int32_t> prompt_;                      // distinct prompt ids (repetition penalty only)
};

}  // namespace whale
