// Rotary position embeddings: inverse frequencies for default / linear / YaRN / llama3 scaling, applied to
// rotary dims either as interleaved pairs (x[2i], x[2i+1]) — DeepSeek MLA — or as NeoX halves
// (x[i], x[i + d/2]) — Qwen2 / Llama.
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"

namespace whale {

enum class RopeLayout { Interleaved, NeoX };

class Rope {
 public:
  Rope() = default;
  // dim: number of rotary dims (qk_rope_head_dim for MLA, head_dim for dense models).
  Rope(const RopeConfig& config, int64_t dim, RopeLayout layout);

  int64_t dim() const { return dim_; }
  const std::vector<float>& inv_freq() const { return inv_freq_; }
  float attention_factor() const { return attention_factor_; }

  // Rotates n_vec vectors of `dim` floats at stride `stride` (all at position `pos`) in place.
  void apply(float* x, int64_t n_vec, int64_t stride, int64_t pos) const;

 private:
  int64_t dim_ = 0;
  RopeLayout layout_ = RopeLayout::NeoX;
  std::vector<float> inv_freq_;   // [dim / 2]
  float attention_factor_ = 1.0f;  // multiplies cos and sin (YaRN mscale ratio)
};

}  // namespace whale
