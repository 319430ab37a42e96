// Single-sequence generation: prefill the prompt into a KV cache, then decode one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/logit_adjust.h"
#include "engine/sampler.h"
#include "model/model.h"

namespace whale {

struct GenerateOptions {
  int64_t max_new_tokens = 16;
  SamplingParams sampling;
  LogitAdjust adjust;              // penalties and biases, applied to the logits before sampling
  std::vector<int32_t> stop_ids;  // generation ends after emitting one of these (e.g. EOS)
  bool mla_absorbed = true;
  int64_t vocab_limit = 0;  // sample only ids < vocab_limit (ids the tokenizer can decode); 0: all
};

struct GenerateStats {
  int64_t prompt_tokens = 0, new_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Returns the generated ids. on_token (optional) sees each id as it is produced; returning false stops.
std::vector<int32_t> generate(Model& model, std::span<const int32_t> prompt, const GenerateOptions& options,
                              const std::function<bool(int32_t)>& on_token = {}, GenerateStats* stats = nullptr);

}  // namespace whale
