// A loaded transformer (DeepSeek-V3/V2 MLA + MoE, or dense Qwen2/Llama GQA) and its forward pass over a
// batch of sequence chunks, each appended to its own KV cache.
// Shape legend: n_tok = tokens in the batch (all chunks concatenated), d_model = hidden size.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/rope.h"
#include "model/weights.h"

namespace whale {

// One sequence's new tokens; they are appended at positions cache->length() ... and the cache advances.
struct SeqChunk {
  std::span<const int32_t> tokens;
  KvCache* cache = nullptr;
};

struct ForwardOptions {
  // MLA attention against the cache: absorbed form (W_UK folded into the query, W_UV after attention;
  // the decode path) or naive (latents decompressed through kv_b_proj for every position; the reference).
  bool mla_absorbed = true;
  // Logits only for the last token of each chunk ([n_seq, vocab]) instead of every token ([n_tok, vocab]).
  bool last_token_logits = false;
  // When set, receives [n_layer + 1, n_tok, d_model] as HF returns hidden_states (last entry after final norm).
  std::vector<float>* hidden_states = nullptr;
};

class Model {
 public:
  Model(ModelConfig config, LoadedWeights weights, ThreadPool& pool);
  // Loads a hub-layout directory (config.json + safetensors weights) or a GGUF model (a .gguf file, the first
  // file of a split set, or a directory holding one).
  static std::unique_ptr<Model> load(const std::filesystem::path& path, ThreadPool& pool,
                                     const LoadOptions& options = {});

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_.weights; }
  size_t weight_bytes() const { return weights_.stored_bytes; }
  ThreadPool& pool() { return pool_; }
  KvCache new_cache(int64_t capacity) const { return KvCache(config_, capacity); }

  // Runs the chunks through the model, appends them to their caches, writes logits (see ForwardOptions).
  void forward(std::span<const SeqChunk> batch, const ForwardOptions& options, std::vector<float>& logits);

  // Convenience: full causal forward of B sequences × T tokens from position 0 (fresh caches).
  // ids [B*T]; logits out [B*T, vocab].
  void forward_full(std::span<const int32_t> ids, int64_t batch, int64_t seq, const ForwardOptions& options,
                    std::vector<float>& logits);

  // Weights touched to decode one token (embedding row, attention, dense MLPs, top_k + shared experts, lm_head):
  // bytes are the numerator of decode GB/s; 2 × elements the matmul FLOPs per token.
  struct ActiveWeights {
    size_t bytes = 0, elements = 0;
  };
  ActiveWeights active_per_token() const;

 private:
  struct TokenInfo {
    int64_t seq;  // index into the batch
    int64_t pos;  // absolute position
  };
  void attention_mla(int64_t layer, std::span<const SeqChunk> batch, const std::vector<TokenInfo>& tokens,
                     const float* x, float* out, bool absorbed);
  void attention_gqa(int64_t layer, std::span<const SeqChunk> batch, const std::vector<TokenInfo>& tokens,
                     const float* x, float* out);
  void mlp(const MlpWeights& w, const float* x, int64_t n, float* out, bool accumulate);
  void moe(int64_t layer, const float* x, int64_t n, float* out);
  void linear(const Linear& l, const float* x, int64_t n, float* y);

  // Activation buffers reused across calls: they grow to the largest batch seen, so steady-state decoding
  // allocates nothing.
  struct Workspace {
    std::vector<TokenInfo> tokens;
    std::vector<int64_t> last_row;
    std::vector<float> x, h, branch;           // [n_tok, d_model]
    std::vector<float> q, q_a, kv, attn;       // attention projections
    std::vector<float> ffn_gate, ffn_up;       // [n, d_ff]
    std::vector<float> router_logits, expert_weight, routing_scratch, expert_in, expert_out;
    std::vector<int32_t> expert_idx;
    std::vector<std::vector<int64_t>> expert_rows;  // expert → assignments (token * top_k + slot)
  };
  static float* grow(std::vector<float>& v, int64_t n) {
    if (v.size() < size_t(n)) v.resize(size_t(n));
    return v.data();
  }

  ModelConfig config_;
  LoadedWeights weights_;
  Workspace ws_;
  ThreadPool& pool_;
  ThreadPool serial_{1};  // for ops inside per-head parallel loops
  Rope rope_;
};

}  // namespace whale
