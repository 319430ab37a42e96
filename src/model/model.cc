#include "model/model.h"

#include <cstring>

#include "core/error.h"
#include "io/gguf.h"
#include "model/gguf_model.h"
#include "ops/ops.h"

namespace whale {

Model::Model(ModelConfig config, LoadedWeights weights, ThreadPool& pool)
    : config_(std::move(config)), weights_(std::move(weights)), pool_(pool) {
  // MLA rotates only the decoupled rope dims, as interleaved pairs; dense models rotate whole heads, NeoX style.
  rope_ = config_.is_mla() ? Rope(config_.rope, config_.qk_rope_head_dim, RopeLayout::Interleaved)
                           : Rope(config_.rope, config_.d_head, RopeLayout::NeoX);
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path, ThreadPool& pool, const LoadOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool hub_dir = fs::is_directory(path, ec) && fs::exists(path / "config.json", ec);
  if (!hub_dir && GgufStore::find_model_file(path)) {
    GgufStore gguf = GgufStore::open(path);
    ModelConfig config = gguf_model_config(gguf);
    LoadedWeights weights = LoadedWeights::load(config, GgufWeightSource(gguf, config), pool, options);
    return std::make_unique<Model>(std::move(config), std::move(weights), pool);
  }
  if (!hub_dir)
    fail("{}: not a model: expected a hub checkpoint directory (config.json + model.safetensors) or a GGUF file",
         path.string());
  ModelConfig config = ModelConfig::load(path);
  TensorStore store = TensorStore::open(path);
  LoadedWeights weights = LoadedWeights::load(config, SafetensorsWeightSource(store), pool, options);
  return std::make_unique<Model>(std::move(config), std::move(weights), pool);
}

void Model::linear(const Linear& l, const float* x, int64_t n, float* y) {
  ops::matmul(pool_, x, n, l.w, y);
  if (l.b) {
    for (int64_t i = 0; i < n; ++i) ops::axpy(1.0f, l.b.data, y + i * l.w.rows, l.w.rows);
  }
}

// SwiGLU MLP: out (+)= down(silu(gate(x)) * up(x)).
void Model::mlp(const MlpWeights& w, const float* x, int64_t n, float* out, bool accumulate) {
  const int64_t d_ff = w.gate.w.rows;
  float* gate = grow(ws_.ffn_gate, n * d_ff);  // [n, d_ff]
  float* up = grow(ws_.ffn_up, n * d_ff);      // [n, d_ff]
  linear(w.gate, x, n, gate);
  linear(w.up, x, n, up);
  ops::silu_mul(gate, up, n * d_ff, gate);
  ops::matmul(pool_, gate, n, w.down.w, out, accumulate);
  if (w.down.b) {
    for (int64_t i = 0; i < n; ++i) ops::axpy(1.0f, w.down.b.data, out + i * config_.d_model, config_.d_model);
  }
}

void Model::forward(std::span<const SeqChunk> batch, const ForwardOptions& opt, std::vector<float>& logits) {
  const ModelConfig& c = config_;
  const ModelWeights& W = weights_.weights;
  const int64_t d = c.d_model;
  std::vector<TokenInfo>& tokens = ws_.tokens;
  std::vector<int64_t>& last_row = ws_.last_row;  // per chunk: row of its last token
  tokens.clear();
  last_row.clear();
  for (size_t s = 0; s < batch.size(); ++s) {
    const SeqChunk& chunk = batch[s];
    WHALE_CHECK(chunk.cache != nullptr);
    if (chunk.tokens.empty()) fail("forward: sequence {} has no tokens", s);
    if (chunk.cache->length() + int64_t(chunk.tokens.size()) > chunk.cache->capacity())
      fail("forward: sequence {} needs {} positions but its KV cache holds {}", s,
           chunk.cache->length() + int64_t(chunk.tokens.size()), chunk.cache->capacity());
    for (size_t t = 0; t < chunk.tokens.size(); ++t) {
      int32_t id = chunk.tokens[t];
      if (id < 0 || id >= c.vocab_size) fail("forward: token id {} is outside the vocabulary (size {})", id, c.vocab_size);
      tokens.push_back({int64_t(s), chunk.cache->length() + int64_t(t)});
    }
    last_row.push_back(int64_t(tokens.size()) - 1);
  }
  const int64_t n = int64_t(tokens.size());

  float* x = grow(ws_.x, n * d);            // [n_tok, d_model] residual stream
  float* h = grow(ws_.h, n * d);            // [n_tok, d_model] normalised input of a block
  float* branch = grow(ws_.branch, n * d);  // [n_tok, d_model] block output
  int64_t row = 0;
  for (const SeqChunk& chunk : batch)
    for (int32_t id : chunk.tokens) W.embed.dequantize_rows(id, id + 1, x + (row++) * d);
  const size_t act_bytes = size_t(n * d) * sizeof(float);

  if (opt.hidden_states) {
    opt.hidden_states->assign(size_t((c.n_layer + 1) * n * d), 0.0f);
    std::memcpy(opt.hidden_states->data(), x, act_bytes);
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = W.layers[size_t(l)];
    // x = x + attention(norm(x))
    ops::rmsnorm(x, L.attn_norm.data, n, d, float(c.rms_eps), h);
    if (c.is_mla()) attention_mla(l, batch, tokens, h, branch, opt.mla_absorbed);
    else attention_gqa(l, batch, tokens, h, branch);
    ops::axpy(1.0f, branch, x, n * d);
    // x = x + ffn(norm(x)), ffn = routed experts + shared experts, or a dense SwiGLU MLP
    ops::rmsnorm(x, L.ffn_norm.data, n, d, float(c.rms_eps), h);
    if (c.is_moe_layer(l)) moe(l, h, n, branch);
    else mlp(L.mlp, h, n, branch, /*accumulate=*/false);
    ops::axpy(1.0f, branch, x, n * d);
    if (opt.hidden_states && l + 1 < c.n_layer)
      std::memcpy(opt.hidden_states->data() + (l + 1) * n * d, x, act_bytes);
  }
  for (const SeqChunk& chunk : batch) chunk.cache->advance(int64_t(chunk.tokens.size()));

  ops::rmsnorm(x, W.final_norm.data, n, d, float(c.rms_eps), x);
  if (opt.hidden_states)
    std::memcpy(opt.hidden_states->data() + c.n_layer * n * d, x, act_bytes);
  if (opt.last_token_logits) {
    const int64_t n_seq = int64_t(batch.size());
    for (int64_t s = 0; s < n_seq; ++s)
      std::memcpy(h + s * d, x + last_row[size_t(s)] * d, size_t(d) * sizeof(float));
    logits.resize(size_t(n_seq * c.vocab_size));
    ops::matmul(pool_, h, n_seq, W.lm_head, logits.data());
  } else {
    logits.resize(size_t(n * c.vocab_size));
    ops::matmul(pool_, x, n, W.lm_head, logits.data());
  }
}

void Model::forward_full(std::span<const int32_t> ids, int64_t batch, int64_t seq, const ForwardOptions& options,
                         std::vector<float>& logits) {
  WHALE_CHECK(int64_t(ids.size()) == batch * seq);
  std::vector<KvCache> caches;
  std::vector<SeqChunk> chunks;
  caches.reserve(size_t(batch));
  for (int64_t b = 0; b < batch; ++b) caches.push_back(new_cache(seq));
  for (int64_t b = 0; b < batch; ++b) chunks.push_back({ids.subspan(size_t(b * seq), size_t(seq)), &caches[size_t(b)]});
  forward(chunks, options, logits);
}

Model::ActiveWeights Model::active_per_token() const {
  const ModelConfig& c = config_;
  const ModelWeights& W = weights_.weights;
  ActiveWeights a;
  auto add = [&](const MatrixView& m, int64_t times = 1) {
    a.bytes += size_t(times) * m.nbytes();
    a.elements += size_t(times * m.rows * m.cols);
  };
  auto add_mlp = [&](const MlpWeights& m, int64_t times = 1) {
    add(m.gate.w, times), add(m.up.w, times), add(m.down.w, times);
  };
  a.bytes += W.embed.nbytes() / size_t(c.vocab_size);
  add(W.lm_head);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = W.layers[size_t(l)];
    if (c.is_mla()) {
      if (c.q_lora_rank) add(L.mla.q_a.w), add(L.mla.q_b.w);
      else add(L.mla.q.w);
      add(L.mla.kv_a.w), add(L.mla.o.w);
      if (L.mla.kv_b.w.data) add(L.mla.kv_b.w);  // read as W_UKᵀ and W_UV when absorbed
      else for (int64_t h = 0; h < c.n_head; ++h) add(L.mla.w_uk_t[size_t(h)]), add(L.mla.w_uv[size_t(h)]);
    } else {
      add(L.gqa.q.w), add(L.gqa.k.w), add(L.gqa.v.w), add(L.gqa.o.w);
    }
    if (c.is_moe_layer(l)) {
      add(L.moe.router);
      add_mlp(L.moe.experts[0], c.top_k);
      if (L.moe.has_shared) add_mlp(L.moe.shared);
    } else {
      add_mlp(L.mlp);
    }
  }
  return a;
}

}  // namespace whale
