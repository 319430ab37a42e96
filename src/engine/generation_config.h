// A checkpoint's generation_config.json: the sampling defaults its authors recommend (DeepSeek-R1:
// temperature 0.6, top_p 0.95), used by generate, chat and serve where the user does not set a value.
// Read as vLLM does: temperature, top_p, top_k, min_p, repetition_penalty and max_new_tokens when present;
// do_sample = false means greedy; eos_token_id (an id or a list) adds ids that end generation. Keys whale does
// not apply (frequency_penalty / presence_penalty other than 0) are listed in `ignored` so the caller can say so.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/sampler.h"

namespace whale {

struct GenerationConfig {
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<int64_t> top_k, max_new_tokens;
  std::vector<int32_t> eos_token_ids;
  std::vector<std::string> ignored;  // "frequency_penalty = 0.5", ...

  // DIR/generation_config.json (a .gguf model path: none). Absent file: nothing set. A value of the wrong
  // type or range is an error naming the file and the key.
  static GenerationConfig load(const std::filesystem::path& model_path);
  static GenerationConfig from_json(const std::string& text, const std::string& source);

  // The defaults over `base`: each field this config sets replaces base's.
  SamplingParams sampling(SamplingParams base) const;
};

}  // namespace whale
