// Models stored as GGUF (llama.cpp's converter layout) for the architectures llama.cpp names deepseek2
// (DeepSeek-V2 / V2-Lite / V3 / R1), qwen2 and llama: hyper-parameters from the metadata, expressed as the
// hub config.json they came from, and the weights bound by hub name through the GGUF tensor names.
#pragma once

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "model/config.h"
#include "model/weight_source.h"

namespace whale {

// The hub config.json equivalent of a GGUF model's metadata (general.architecture and its keys). A key
// the architecture needs and the file lacks is an error naming it; an architecture whale does not run is
// an error listing the supported ones.
nlohmann::json gguf_hub_config(const GgufStore& gguf);
// ModelConfig::from_json of the above, plus what only the tensors say (tied embeddings, biases, llama's
// rope_freqs factors).
ModelConfig gguf_model_config(const GgufStore& gguf);

// The GGUF tensor a hub tensor lives in: its name, the expert index when it is one slice of a stacked
// ffn_*_exps tensor, and whether its rows are in llama.cpp's RoPE order (llama q/k; see permute_rope_rows).
// An empty name for tensors GGUF stores otherwise (kv_b_proj → attn_k_b / attn_v_b) or not at all.
struct GgufName {
  std::string name;
  int64_t expert = -1;
  bool rope_permuted = false;
};
GgufName gguf_name_of(const std::string& hub_name);

// Reorders the rows [rows, ...] of a llama q/k projection between the hub's order and llama.cpp's.
Tensor permute_rope_rows(const Tensor& t, int64_t d_head, bool to_gguf);

// Hub names → GGUF tensors: renames, one expert's slice of a stacked ffn_*_exps tensor (zero-copy), llama's
// q/k rows restored to the hub order (llama.cpp's converter permutes them for its interleaved RoPE), and
// MLA's attn_k_b / attn_v_b as the absorbed matrices.
class GgufWeightSource : public WeightSource {
 public:
  GgufWeightSource(const GgufStore& gguf, const ModelConfig& config) : gguf_(gguf), config_(config) {}
  std::string where() const override { return gguf_.source().string(); }
  std::optional<Tensor> find(const std::string& hub_name) const override;
  std::optional<std::pair<Tensor, Tensor>> absorbed_mla(int64_t layer) const override;
  void drop_resident_pages() const override { gguf_.drop_resident_pages(); }

 private:
  std::optional<Tensor> get(const std::string& gguf_name) const;
  const GgufStore& gguf_;
  const ModelConfig& config_;
};

}  // namespace whale
