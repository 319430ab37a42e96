// The weights of one model as views bound by hub tensor name. Every tensor is listed once, in
// ModelWeights::visit, which loading, random initialisation and (later) training all reuse.
#pragma once

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "core/thread_pool.h"
#include "model/config.h"
#include "model/weight_source.h"
#include "tensor/tensor.h"

namespace whale {

// A small f32 vector parameter (norm weights, biases, routing bias); converted to f32 at load.
struct VectorView {
  const float* data = nullptr;
  int64_t size = 0;
  explicit operator bool() const { return data != nullptr; }
};

struct Linear {
  MatrixView w;   // [out, in]
  VectorView b;   // [out] or empty
};

struct MlpWeights {  // SwiGLU: down(silu(gate(x)) * up(x))
  Linear gate, up, down;
};

struct MlaWeights {
  Linear q;               // q_proj [n_head*qk_head_dim, d_model] when q_lora_rank == 0
  Linear q_a, q_b;        // q_a_proj [q_lora_rank, d_model], q_b_proj [n_head*qk_head_dim, q_lora_rank]
  VectorView q_a_norm;    // [q_lora_rank]
  Linear kv_a;            // kv_a_proj_with_mqa [kv_lora_rank + qk_rope_head_dim, d_model]
  VectorView kv_a_norm;   // [kv_lora_rank]
  Linear kv_b;            // kv_b_proj [n_head*(qk_nope_head_dim + v_head_dim), kv_lora_rank]
  Linear o;               // o_proj [d_model, n_head*v_head_dim]
  // Absorbed-attention forms derived from kv_b at load time (weight algebra done once):
  std::vector<MatrixView> w_uk_t;  // per head [kv_lora_rank, qk_nope_head_dim]  (W_UKᵀ)
  std::vector<MatrixView> w_uv;    // per head [v_head_dim, kv_lora_rank]
};

struct GqaWeights {
  Linear q, k, v, o;  // q [n_head*d_head, d_model], k/v [n_kv_head*d_head, d_model], o [d_model, n_head*d_head]
  VectorView q_norm, k_norm;  // qwen3 (qk_norm): self_attn.{q,k}_norm.weight [d_head]
};

struct MoeWeights {
  MatrixView router;                 // mlp.gate.weight [n_routed_experts, d_model]
  VectorView score_bias;             // mlp.gate.e_score_correction_bias [n_routed_experts] (noaux_tc)
  std::vector<MlpWeights> experts;   // routed experts
  MlpWeights shared;                 // n_shared_experts fused: intermediate n_shared*moe_intermediate_size
  bool has_shared = false;
};

struct LayerWeights {
  VectorView attn_norm, ffn_norm;
  MlaWeights mla;
  GqaWeights gqa;
  MlpWeights mlp;  // dense layers
  MoeWeights moe;  // MoE layers
};

struct ModelWeights {
  MatrixView embed;    // [vocab, d_model]
  MatrixView lm_head;  // [vocab, d_model] (= embed when tied)
  VectorView final_norm;
  std::vector<LayerWeights> layers;

  // One slot per checkpoint tensor: a weight matrix (any float dtype; fp8 with `<name>_scale_inv`) or
  // a vector parameter. `trained` is false for tensors gradient descent does not update.
  struct Slot {
    std::string name;
    Shape shape;
    std::variant<MatrixView*, VectorView*> target;
    bool trained = true;
  };
  // Lists every tensor of the checkpoint for this config, in hub order, with the slot to bind it to.
  void visit(const ModelConfig& config, const std::function<void(const Slot&)>& fn);
};

struct LoadOptions {
  // false (default): copy weight matrices out of the file mapping into huge-page-backed memory (about twice
  // the decode bandwidth of streaming 4 KiB file pages); true: use them in place, zero-copy, for models
  // larger than RAM.
  bool mmap = false;
};

// Binds weights from a tensor store, keeping converted/derived buffers alive.
class LoadedWeights {
 public:
  static LoadedWeights load(const ModelConfig& config, const WeightSource& source, ThreadPool& pool,
                            const LoadOptions& options = {});
  // Views of f32 tensors held elsewhere (a trainer's master weights), without copying: valid while that
  // storage lives and keeps its size, and they see its updates (call again after an update to refresh the
  // derived absorbed-MLA matrices). lookup(name, shape) returns the tensor's data.
  using F32Lookup = std::function<const float*(const std::string& name, const Shape& shape)>;
  static LoadedWeights bind_f32(const ModelConfig& config, const F32Lookup& lookup);
  ModelWeights weights;
  size_t stored_bytes = 0;  // bytes of the bound tensors as stored

 private:
  std::vector<Tensor> owned_;  // f32 copies of vectors, derived absorbed matrices
  std::shared_ptr<char> resident_;  // huge-page copy of the matrices (LoadOptions::mmap == false)
  void derive_absorbed(const ModelConfig& config);
  void bind_absorbed(const ModelConfig& config, int64_t layer, const std::pair<Tensor, Tensor>& uk_uv,
                     const std::string& where);
  void make_resident(const ModelConfig& config, ThreadPool& pool);
};

}  // namespace whale
