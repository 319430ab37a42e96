#include "engine/logit_adjust.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace whale {

void LogitAdjust::validate(int64_t vocab) const {
  auto in = [](float v, float lo, float hi) { return std::isfinite(v) && v >= lo && v <= hi; };
  if (!in(frequency_penalty, -2, 2)) fail("frequency_penalty must be in [-2, 2], got {}", frequency_penalty);
  if (!in(presence_penalty, -2, 2)) fail("presence_penalty must be in [-2, 2], got {}", presence_penalty);
  if (!(std::isfinite(repetition_penalty) && repetition_penalty > 0 && repetition_penalty <= 10))
    fail("repetition_penalty must be in (0, 10], got {}", repetition_penalty);
  for (const auto& [id, bias] : logit_bias) {
    if (id < 0 || id >= vocab) fail("logit_bias: token id {} is outside the vocabulary (size {})", id, vocab);
    if (!in(bias, -100, 100)) fail("logit_bias: the bias of token {} must be in [-100, 100], got {}", id, bias);
  }
}

void TokenHistory::reset(const std::vector<int32_t>& prompt, bool keep_prompt) {
  completion_.clear();
  prompt_.clear();
  if (!keep_prompt) return;
  prompt_ = prompt;
  std::sort(prompt_.begin(), prompt_.end());
  prompt_.erase(std::unique(prompt_.begin(), prompt_.end()), prompt_.end());
}

void TokenHistory::apply(const LogitAdjust& a, float* logits, int64_t vocab) const {
  for (const auto& [id, bias] : a.logit_bias)
    if (id < vocab) logits[id] += bias;
  if (a.frequency_penalty != 0 || a.presence_penalty != 0)
    for (const auto& [id, n] : completion_)
      if (id < vocab) logits[id] -= a.frequency_penalty * float(n) + a.presence_penalty;
  if (a.repetition_penalty != 1) {
    auto penalise = [&](int32_t id) {
      if (id >= vocab) return;
      float& l = logits[id];
      l = l > 0 ? l / a.repetition_penalty : l * a.repetition_penalty;
    };
    for (int32_t id : prompt_) penalise(id);
    for (const auto& [id, n] : completion_)
      if (!std::binary_search(prompt_.begin(), prompt_.end(), id)) penalise(id);
  }
}

}  // namespace whale
