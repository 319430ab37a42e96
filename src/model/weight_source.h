// Where LoadedWeights::load finds the stored tensors of a model, by hub tensor name: a safetensors
// checkpoint directory as it is, or a GGUF file through the name mapping of model/gguf_model.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "io/safetensors.h"
#include "tensor/tensor.h"

namespace whale {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // Names the checkpoint in error messages.
  virtual std::string where() const = 0;
  // The tensor bound to a hub name, as stored (any dtype, row-major hub shape); nullopt when absent.
  virtual std::optional<Tensor> find(const std::string& hub_name) const = 0;
  // MLA layers stored in absorbed form (GGUF's attn_k_b / attn_v_b): W_UKᵀ [n_head, kv_lora_rank,
  // qk_nope_head_dim] and W_UV [n_head, v_head_dim, kv_lora_rank]; kv_b_proj is then absent.
  virtual std::optional<std::pair<Tensor, Tensor>> absorbed_mla(int64_t layer) const { return std::nullopt; }
  // Called once the weights were copied out of the file mappings: their pages need not stay resident.
  virtual void drop_resident_pages() const {}
};

class SafetensorsWeightSource : public WeightSource {
 public:
  explicit SafetensorsWeightSource(const TensorStore& store) : store_(store) {}
  std::string where() const override { return store_.source().string(); }
  std::optional<Tensor> find(const std::string& hub_name) const override {
    if (!store_.has(hub_name)) return std::nullopt;
    return store_.get(hub_name);
  }
  void drop_resident_pages() const override { store_.drop_resident_pages(); }

 private:
  const TensorStore& store_;
};

}  // namespace whale
