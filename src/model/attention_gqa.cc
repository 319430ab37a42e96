// Grouped-query attention (Qwen2 / Qwen3 / Llama): n_head query heads share n_kv_head K/V heads; NeoX RoPE.
#include <algorithm>
#include <cstring>

#include "model/model.h"
#include "ops/ops.h"

namespace whale {

void Model::attention_gqa(int64_t layer, std::span<const SeqChunk> batch, const std::vector<TokenInfo>& tokens,
                          const float* x, float* out) {
  const ModelConfig& c = config_;
  const GqaWeights& w = weights_.weights.layers[size_t(layer)].gqa;
  const int64_t n = int64_t(tokens.size()), H = c.n_head, KV = c.n_kv_head, dh = c.d_head;
  const int64_t group = H / KV, kv_width = KV * dh;
  const float scale = float(c.attention_scale());

  float* q = grow(ws_.q, n * H * dh);        // [n_tok, n_head, d_head]
  float* k = grow(ws_.kv, 2 * n * kv_width);  // [n_tok, n_kv_head, d_head]
  float* v = k + n * kv_width;                // [n_tok, n_kv_head, d_head]
  linear(w.q, x, n, q);
  linear(w.k, x, n, k);
  linear(w.v, x, n, v);
  if (c.qk_norm) {  // Qwen3Attention: q_norm / k_norm over head_dim of each head, before RoPE
    ops::rmsnorm(q, w.q_norm.data, n * H, dh, float(c.rms_eps), q);
    ops::rmsnorm(k, w.k_norm.data, n * KV, dh, float(c.rms_eps), k);
  }
  for (int64_t i = 0; i < n; ++i) {
    const TokenInfo& t = tokens[size_t(i)];
    KvCache& cache = *batch[size_t(t.seq)].cache;
    rope_.apply(q + i * H * dh, H, dh, t.pos);
    rope_.apply(k + i * kv_width, KV, dh, t.pos);
    std::memcpy(cache.a(layer) + t.pos * kv_width, k + i * kv_width, size_t(kv_width) * sizeof(float));
    std::memcpy(cache.b(layer) + t.pos * kv_width, v + i * kv_width, size_t(kv_width) * sizeof(float));
  }

  float* attn = grow(ws_.attn, n * H * dh);  // [n_tok, n_head, d_head]
  pool_.parallel_for(size_t(n * H), 1, [&](size_t begin, size_t end) {
    thread_local std::vector<float> scores;
    for (size_t job = begin; job < end; ++job) {
      const int64_t i = int64_t(job) / H, head = int64_t(job) % H, kvh = head / group;
      const TokenInfo& t = tokens[size_t(i)];
      KvCache& cache = *batch[size_t(t.seq)].cache;
      const float* qh = q + (i * H + head) * dh;
      const float* keys = cache.a(layer) + kvh * dh;  // row j at j * kv_width
      const float* vals = cache.b(layer) + kvh * dh;
      float* o = attn + (i * H + head) * dh;
      const int64_t len = t.pos + 1;
      scores.resize(size_t(len));
      for (int64_t j = 0; j < len; ++j) scores[size_t(j)] = ops::dot(qh, keys + j * kv_width, dh) * scale;
      ops::softmax(scores.data(), 1, len);
      std::fill(o, o + dh, 0.0f);
      for (int64_t j = 0; j < len; ++j) ops::axpy(scores[size_t(j)], vals + j * kv_width, o, dh);
    }
  });
  linear(w.o, attn, n, out);
}

}  // namespace whale
