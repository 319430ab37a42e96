// Per-sequence attention cache for every layer, preallocated to a fixed capacity (no allocation per token).
// MLA (DeepSeek): per token only the normalised latent c_kv [kv_lora_rank] and the rotated shared key
// k_pe [qk_rope_head_dim] — the compressed cache of the paper. GQA: K and V [n_kv_head * d_head].
#pragma once

#include <cstdint>
#include <vector>

#include "model/config.h"
#include "tensor/tensor.h"

namespace whale {

class KvCache {
 public:
  KvCache(const ModelConfig& config, int64_t capacity);

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  void clear() { length_ = 0; }
  void truncate(int64_t length);
  // Called by the model once a chunk has been written for every layer.
  void advance(int64_t n);

  // MLA: [capacity, kv_lora_rank] and [capacity, qk_rope_head_dim]; GQA: [capacity, n_kv_head * d_head] each.
  float* a(int64_t layer) { return a_[size_t(layer)].mutable_data<float>(); }
  float* b(int64_t layer) { return b_[size_t(layer)].mutable_data<float>(); }
  int64_t a_width() const { return a_width_; }
  int64_t b_width() const { return b_width_; }
  size_t nbytes() const;

 private:
  int64_t capacity_ = 0, length_ = 0;
  int64_t a_width_ = 0, b_width_ = 0;
  std::vector<Tensor> a_, b_;  // per layer
};

}  // namespace whale
