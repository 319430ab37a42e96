#include "model/kv_cache.h"

#include "core/error.h"

namespace whale {

KvCache::KvCache(const ModelConfig& c, int64_t capacity) : capacity_(capacity) {
  if (capacity <= 0) fail("KV cache capacity must be positive, got {}", capacity);
  a_width_ = c.is_mla() ? c.kv_lora_rank : c.n_kv_head * c.d_head;
  b_width_ = c.is_mla() ? c.qk_rope_head_dim : c.n_kv_head * c.d_head;
  for (int64_t l = 0; l < c.n_layer; ++l) {
    a_.push_back(Tensor::zeros(DType::F32, {capacity, a_width_}));
    b_.push_back(Tensor::zeros(DType::F32, {capacity, b_width_}));
  }
}

void KvCache::truncate(int64_t length) {
  WHALE_CHECK(length >= 0 && length <= length_);
  length_ = length;
}

void KvCache::advance(int64_t n) {
  WHALE_CHECK(length_ + n <= capacity_);
  length_ += n;
}

size_t KvCache::nbytes() const {
  size_t n = 0;
  for (const Tensor& t : a_) n += t.nbytes();
  for (const Tensor& t : b_) n += t.nbytes();
  return n;
}

}  // namespace whale
