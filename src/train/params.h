// f32 master copies of a model's tensors for training, by hub tensor name.
// Built from the same tensor list as inference (ModelWeights::visit), plus the multi-token-prediction
// module (hub names under model.layers.<num_hidden_layers>.) when the config asks for one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "model/weights.h"
#include "tensor/tensor.h"

namespace whale {

struct Param {
  std::string name;          // hub tensor name, e.g. "model.layers.0.self_attn.kv_a_proj_with_mqa.weight"
  Shape shape;
  std::vector<float> value;  // f32 master weights, row-major
  std::vector<float> grad;   // same size when trained (zeros at first), else empty; backward adds into it
  bool trained = true;       // false for e_score_correction_bias (moved by load balancing, not by gradient)
  bool decay = true;         // AdamW weight decay: matrices yes; norms, biases, embeddings no
  int64_t numel() const { return int64_t(value.size()); }
};

class ParamSet {
 public:
  // Reads config.json + safetensors weights from a hub-layout directory (fp8/bf16/f16 → f32).
  // MTP tensors present in the checkpoint are loaded; missing ones are initialised when with_mtp is set.
  static ParamSet from_checkpoint(const std::filesystem::path& dir, bool with_mtp = false, uint64_t seed = 0);
  // Whether a checkpoint carries an MTP module: num_nextn_predict_layers > 0 in its config and the module's tensors.
  static bool checkpoint_has_mtp(const std::filesystem::path& dir);
  // Random initialisation (matrices ~ N(0, std²), norms 1, biases 0) for a config.json.
  static ParamSet initialize(const nlohmann::json& config_json, bool with_mtp, uint64_t seed, double std = 0.02);

  const ModelConfig& config() const { return config_; }
  const nlohmann::json& config_json() const { return config_json_; }
  bool has_mtp() const { return has_mtp_; }

  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  Param& at(const std::string& name);  // throws naming the tensor when absent
  const Param& at(const std::string& name) const;
  const Param* find(const std::string& name) const;  // null when absent
  Param* find(const std::string& name);

  // The inference model's weights as views of these f32 values (no copy; see LoadedWeights::bind_f32):
  // `Model(config(), inference_weights(), pool)` serves the current parameters, e.g. for RL rollouts.
  LoadedWeights inference_weights() const;

  // Takes the MTP module out of training (for a loss that does not use it, as GRPO's): it is kept, and saved, as is.
  void freeze_mtp();

  void zero_grad();
  int64_t n_trained() const;  // number of trained scalars

  // Writes `model.safetensors` (F32, or BF16 when bf16 is set) with every tensor under its hub name.
  void save_safetensors(const std::filesystem::path& file, bool bf16 = false) const;

 private:
  ModelConfig config_;
  nlohmann::json config_json_;
  bool has_mtp_ = false;
  std::vector<Param> params_;
  std::unordered_map<std::string, size_t> index_;
  void add(Param p);
};

}  // namespace whale
