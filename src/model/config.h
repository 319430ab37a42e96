// Model hyper-parameters, read from a hub config.json (deepseek_v3, deepseek_v2, qwen2, llama).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace whale {

enum class Arch { DeepseekV3, DeepseekV2, Qwen2, Qwen3, Llama };
enum class RopeScaling { None, Linear, Yarn, Llama3 };
enum class TopkMethod { Greedy, GroupLimitedGreedy, NoauxTc };
enum class ScoringFunc { Softmax, Sigmoid };

struct RopeConfig {
  double theta = 10000.0;
  RopeScaling scaling = RopeScaling::None;
  double factor = 1.0;
  int64_t original_max_position = 0;
  // yarn
  double beta_fast = 32.0, beta_slow = 1.0, mscale = 1.0, mscale_all_dim = 0.0;
  // llama3
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
  // Per-dimension divisors of the rotation frequencies, applied after the scaling above ([dim / 2] or empty;
  // GGUF's rope_freqs.weight, how llama.cpp stores llama3 scaling).
  std::vector<double> freq_factors;
};

struct ModelConfig {
  Arch arch = Arch::DeepseekV3;
  std::string model_type;  // as written in config.json
  int64_t vocab_size = 0;
  int64_t d_model = 0;             // hidden_size
  int64_t n_layer = 0;             // num_hidden_layers
  int64_t n_head = 0;              // num_attention_heads
  int64_t n_kv_head = 0;           // num_key_value_heads (dense GQA models)
  int64_t d_head = 0;              // head_dim (dense models)
  int64_t d_ff = 0;                // intermediate_size (dense MLP layers)
  double rms_eps = 1e-6;
  int64_t max_position = 0;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;           // qwen2 always; llama/deepseek via attention_bias
  bool o_bias = false;             // llama attention_bias also biases o_proj
  bool mlp_bias = false;           // llama mlp_bias
  bool qk_norm = false;            // qwen3: RMSNorm over head_dim of each q and k head, before RoPE
  int64_t bos_token_id = -1;       // -1: none
  std::vector<int64_t> eos_token_ids;
  RopeConfig rope;

  // Multi-head latent attention (DeepSeek)
  int64_t q_lora_rank = 0;  // 0: q_proj directly (V2-Lite); else q_a_proj → norm → q_b_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;

  // DeepSeekMoE
  int64_t n_routed_experts = 0, n_shared_experts = 0, top_k = 0, d_expert = 0;  // d_expert: moe_intermediate_size
  int64_t first_k_dense_replace = 0, moe_layer_freq = 1;
  int64_t n_group = 1, topk_group = 1;
  TopkMethod topk_method = TopkMethod::Greedy;
  ScoringFunc scoring_func = ScoringFunc::Softmax;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t n_mtp_layers = 0;  // num_nextn_predict_layers

  // fp8 block quantization (quantization_config.weight_block_size); 0 = not quantized
  int64_t quant_block = 0;

  bool is_mla() const { return arch == Arch::DeepseekV3 || arch == Arch::DeepseekV2; }
  bool is_moe_layer(int64_t layer) const;
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // Softmax scale of attention scores, incl. YaRN's mscale(factor, mscale_all_dim)² for MLA.
  double attention_scale() const;
  int64_t n_params() const;  // parameter count of the checkpoint (without MTP layers)

  // Parses config.json contents; `source` names the file in error messages.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig load(const std::filesystem::path& dir_or_file);
  // Limits that reject absurd configs before anything is allocated, and values that make no sense (eps, theta
  // or RoPE factors not positive and finite, special token ids outside the vocabulary, inconsistent expert
  // groups). config.json and GGUF metadata both pass through it; errors name `source`, the field and the value.
  void validate(const std::string& source) const;
};

// YaRN's attention magnitude correction: 0.1 · m · ln(s) + 1 for s > 1, else 1.
double yarn_mscale(double scale, double m);

}  // namespace whale
