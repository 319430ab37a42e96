// Multi-head latent attention (DeepSeek-V2/V3).
//   q = W_UQ·norm(W_DQ·x)  (or W_Q·x without q-LoRA)            [n_head, nope + rope]
//   [c_kv ; k_pe] = W_DKV·x, c_kv = norm(c_kv), k_pe = RoPE(k_pe)  (shared by all heads; what the cache holds)
//   naive:    k_nope, v = W_UK·c_kv, W_UV·c_kv per head; score = q_nope·k_nope + q_pe·k_pe
//   absorbed: score = (W_UKᵀ·q_nope)·c_kv + q_pe·k_pe; out = W_UV·(Σ p·c_kv)   (DeepSeek-V2 paper §2.1.2)
#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/model.h"
#include "ops/ops.h"

namespace whale {

void Model::attention_mla(int64_t layer, std::span<const SeqChunk> batch, const std::vector<TokenInfo>& tokens,
                          const float* x, float* out, bool absorbed) {
  const ModelConfig& c = config_;
  const MlaWeights& w = weights_.weights.layers[size_t(layer)].mla;
  const int64_t n = int64_t(tokens.size()), H = c.n_head;
  const int64_t nope = c.qk_nope_head_dim, rope = c.qk_rope_head_dim, dqk = c.qk_head_dim(), dv = c.v_head_dim;
  const int64_t r = c.kv_lora_rank;
  const float eps = float(c.rms_eps), scale = float(c.attention_scale());
  absorbed = absorbed || w.kv_b.w.data == nullptr;  // files that store only W_UKᵀ / W_UV (GGUF attn_k_b / attn_v_b)

  float* q = grow(ws_.q, n * H * dqk);  // [n_tok, n_head, nope + rope]
  if (c.q_lora_rank > 0) {
    float* qa = grow(ws_.q_a, n * c.q_lora_rank);  // [n_tok, q_lora_rank]
    linear(w.q_a, x, n, qa);
    ops::rmsnorm(qa, w.q_a_norm.data, n, c.q_lora_rank, eps, qa);
    linear(w.q_b, qa, n, q);
  } else {
    linear(w.q, x, n, q);
  }
  float* kv = grow(ws_.kv, n * (r + rope));  // [n_tok, kv_lora_rank + rope]
  linear(w.kv_a, x, n, kv);

  // Normalise the latent, rotate q_pe and k_pe, append [c_kv, k_pe] to each sequence's cache.
  for (int64_t i = 0; i < n; ++i) {
    const TokenInfo& t = tokens[size_t(i)];
    KvCache& cache = *batch[size_t(t.seq)].cache;
    float* row = kv + i * (r + rope);
    ops::rmsnorm(row, w.kv_a_norm.data, 1, r, eps, cache.a(layer) + t.pos * r);
    rope_.apply(row + r, 1, rope, t.pos);
    std::memcpy(cache.b(layer) + t.pos * rope, row + r, size_t(rope) * sizeof(float));
    rope_.apply(q + i * H * dqk + nope, H, dqk, t.pos);
  }

  // Naive form: decompress each sequence's cached latents once: [len, n_head, nope + v].
  std::vector<std::vector<float>> kvb(batch.size());
  if (!absorbed) {
    for (size_t s = 0; s < batch.size(); ++s) {
      int64_t len = batch[s].cache->length() + int64_t(batch[s].tokens.size());
      kvb[s].resize(size_t(len * H * (nope + dv)));
      linear(w.kv_b, batch[s].cache->a(layer), len, kvb[s].data());
    }
  }

  float* attn = grow(ws_.attn, n * H * dv);  // [n_tok, n_head, v]
  pool_.parallel_for(size_t(n * H), 1, [&](size_t begin, size_t end) {
    thread_local std::vector<float> scores, q_lat, o_lat;
    q_lat.resize(size_t(r));
    o_lat.resize(size_t(r));
    for (size_t job = begin; job < end; ++job) {
      const int64_t i = int64_t(job) / H, head = int64_t(job) % H;
      const TokenInfo& t = tokens[size_t(i)];
      KvCache& cache = *batch[size_t(t.seq)].cache;
      const float* qh = q + (i * H + head) * dqk;  // [nope + rope]
      const float* latent = cache.a(layer);                // [len, r]
      const float* k_pe = cache.b(layer);                  // [len, rope]
      float* o = attn + (i * H + head) * dv;
      const int64_t len = t.pos + 1;  // causal: positions 0..pos
      scores.resize(size_t(len));
      if (absorbed) {
        ops::matmul(serial_, qh, 1, w.w_uk_t[size_t(head)], q_lat.data());  // W_UKᵀ q_nope: [r]
        for (int64_t j = 0; j < len; ++j)
          scores[size_t(j)] = (ops::dot(q_lat.data(), latent + j * r, r) + ops::dot(qh + nope, k_pe + j * rope, rope)) * scale;
        ops::softmax(scores.data(), 1, len);
        std::fill(o_lat.begin(), o_lat.end(), 0.0f);
        for (int64_t j = 0; j < len; ++j) ops::axpy(scores[size_t(j)], latent + j * r, o_lat.data(), r);
        ops::matmul(serial_, o_lat.data(), 1, w.w_uv[size_t(head)], o);  // W_UV o_lat: [v]
      } else {
        const float* kvh = kvb[size_t(t.seq)].data() + head * (nope + dv);  // row j at j * H * (nope + dv)
        const int64_t stride = H * (nope + dv);
        for (int64_t j = 0; j < len; ++j)
          scores[size_t(j)] = (ops::dot(qh, kvh + j * stride, nope) + ops::dot(qh + nope, k_pe + j * rope, rope)) * scale;
        ops::softmax(scores.data(), 1, len);
        std::fill(o, o + dv, 0.0f);
        for (int64_t j = 0; j < len; ++j) ops::axpy(scores[size_t(j)], kvh + j * stride + nope, o, dv);
      }
    }
  });
  linear(w.o, attn, n, out);
}

}  // namespace whale
