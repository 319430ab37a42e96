#include "model/gguf_model.h"

#include <cstring>
#include <regex>

#include "core/error.h"

namespace whale {
namespace {

using nlohmann::json;

bool has_tensor(const GgufStore& g, const std::string& name) { return g.find(name) != nullptr; }

// llama.cpp's rope scaling keys → the hub's rope_scaling object (null when there is none).
json rope_scaling(const GgufMetadata& m, const std::string& arch, int64_t context_length) {
  const std::string p = arch + ".rope.scaling.";
  std::string type = m.string_or(p + "type", "none");
  if (type == "none" && m.has(arch + ".rope.scale_linear")) type = "linear";
  if (type == "none") return nullptr;
  json r;
  if (type == "linear") {
    r = {{"type", "linear"}, {"factor", m.float_or(p + "factor", m.float_or(arch + ".rope.scale_linear", 1.0))}};
  } else if (type == "yarn") {
    r = {{"type", "yarn"},
         {"factor", m.get_float(p + "factor")},
         {"original_max_position_embeddings", m.int_or(p + "original_context_length", context_length)},
         {"beta_fast", m.float_or(p + "yarn_beta_fast", 32.0)},
         {"beta_slow", m.float_or(p + "yarn_beta_slow", 1.0)}};
    if (arch == "deepseek2") {
      // The converter writes yarn_log_multiplier = 0.1 · mscale_all_dim and assumes mscale = mscale_all_dim
      // (so the cos/sin magnitude ratio is 1 and the softmax scale carries mscale², as DeepSeek's code).
      const double m_all = m.float_or(p + "yarn_log_multiplier", 0.0) / 0.1;
      r["mscale"] = m_all;
      r["mscale_all_dim"] = m_all;
    }
  } else {
    fail("{}: metadata key '{}type' is '{}' (supported: none, linear, yarn)", m.source(), p, type);
  }
  return r;
}

void deepseek2_keys(const GgufStore& g, const GgufMetadata& m, json& j) {
  auto k = [](const char* name) { return std::string("deepseek2.") + name; };
  const int64_t rope = m.get_int(k("rope.dimension_count"));
  j["q_lora_rank"] = m.int_or(k("attention.q_lora_rank"), 0);
  j["kv_lora_rank"] = m.get_int(k("attention.kv_lora_rank"));
  j["qk_rope_head_dim"] = rope;
  // Newer files describe MLA as MQA over the latent (key_length = kv_lora + rope) and keep the per-head
  // sizes in *_mla keys; older ones have the per-head sizes in key_length / value_length.
  const bool mqa = m.has(k("attention.key_length_mla"));
  j["qk_nope_head_dim"] = m.get_int(k(mqa ? "attention.key_length_mla" : "attention.key_length")) - rope;
  j["v_head_dim"] = m.get_int(k(mqa ? "attention.value_length_mla" : "attention.value_length"));
  const int64_t n_expert = m.int_or(k("expert_count"), 0);
  const bool score_bias = has_tensor(g, "blk." + std::to_string(m.int_or(k("leading_dense_block_count"), 0)) +
                                            ".exp_probs_b.bias");
  const int64_t gating = m.int_or(k("expert_gating_func"), 1);  // 1 softmax, 2 sigmoid
  if (gating != 1 && gating != 2)
    fail("{}: metadata key 'deepseek2.expert_gating_func' is {} (supported: 1 softmax, 2 sigmoid)", m.source(), gating);
  j["model_type"] = gating == 2 ? "deepseek_v3" : "deepseek_v2";
  if (n_expert > 0) {
    const int64_t n_group = m.int_or(k("expert_group_count"), 1);
    j["n_routed_experts"] = n_expert;
    j["n_shared_experts"] = m.int_or(k("expert_shared_count"), 0);
    j["num_experts_per_tok"] = m.get_int(k("expert_used_count"));
    j["moe_intermediate_size"] = m.get_int(k("expert_feed_forward_length"));
    j["first_k_dense_replace"] = m.int_or(k("leading_dense_block_count"), 0);
    j["n_group"] = n_group;
    j["topk_group"] = m.int_or(k("expert_group_used_count"), 1);
    j["topk_method"] = score_bias ? "noaux_tc" : n_group > 1 ? "group_limited_greedy" : "greedy";
    j["scoring_func"] = gating == 2 ? "sigmoid" : "softmax";
    j["norm_topk_prob"] = m.bool_or(k("expert_weights_norm"), false);
    j["routed_scaling_factor"] = m.float_or(k("expert_weights_scale"), 1.0);
  }
}

// Hub suffix (after "model.layers.N.") → GGUF suffix (after "blk.N."), for the plainly renamed tensors.
const std::vector<std::pair<std::string, std::string>>& layer_renames() {
  static const std::vector<std::pair<std::string, std::string>> kRenames = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.", "attn_q."},
      {"self_attn.k_proj.", "attn_k."},
      {"self_attn.v_proj.", "attn_v."},
      {"self_attn.o_proj.", "attn_output."},
      {"self_attn.q_a_proj.weight", "attn_q_a.weight"},
      {"self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight"},
      {"self_attn.q_b_proj.weight", "attn_q_b.weight"},
      {"self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight"},
      {"self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight"},
      {"self_attn.kv_b_proj.weight", "attn_kv_b.weight"},
      {"mlp.gate_proj.", "ffn_gate."},
      {"mlp.up_proj.", "ffn_up."},
      {"mlp.down_proj.", "ffn_down."},
      {"mlp.gate.weight", "ffn_gate_inp.weight"},
      {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias"},
      {"mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight"},
      {"mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight"},
      {"mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight"},
  };
  return kRenames;
}

}  // namespace

json gguf_hub_config(const GgufStore& g) {
  const GgufMetadata& m = g.metadata();
  const std::string arch = m.get_string("general.architecture");
  if (arch != "deepseek2" && arch != "qwen2" && arch != "llama")
    fail("{}: architecture '{}' is not supported (supported GGUF architectures: deepseek2, qwen2, llama)",
         m.source(), arch);
  auto k = [&](const char* name) { return arch + "." + name; };
  json j;
  j["model_type"] = arch;
  const int64_t n_nextn = m.int_or(k("nextn_predict_layers"), 0);  // counted in block_count
  j["num_hidden_layers"] = m.get_int(k("block_count")) - n_nextn;
  j["hidden_size"] = m.get_int(k("embedding_length"));
  j["intermediate_size"] = m.get_int(k("feed_forward_length"));
  j["num_attention_heads"] = m.get_int(k("attention.head_count"));
  j["rms_norm_eps"] = m.get_float(k("attention.layer_norm_rms_epsilon"));
  const int64_t context = m.get_int(k("context_length"));
  j["max_position_embeddings"] = context;
  j["rope_theta"] = m.float_or(k("rope.freq_base"), 10000.0);
  j["rope_scaling"] = rope_scaling(m, arch, context);
  const GgufTensorInfo* embd = g.find("token_embd.weight");
  if (embd == nullptr) fail("{}: tensor 'token_embd.weight' is missing", m.source());
  if (embd->ne.size() != 2) fail("{}: tensor 'token_embd.weight' must be 2-D", m.source());
  j["vocab_size"] = embd->ne[1];
  j["tie_word_embeddings"] = !has_tensor(g, "output.weight");
  if (m.has("tokenizer.ggml.bos_token_id")) j["bos_token_id"] = m.get_int("tokenizer.ggml.bos_token_id");
  if (m.has("tokenizer.ggml.eos_token_id")) j["eos_token_id"] = m.get_int("tokenizer.ggml.eos_token_id");
  if (arch == "deepseek2") {
    deepseek2_keys(g, m, j);
    if (n_nextn > 0) j["num_nextn_predict_layers"] = n_nextn;
  } else {
    j["num_key_value_heads"] = m.int_or(k("attention.head_count_kv"), j["num_attention_heads"].get<int64_t>());
    if (m.has(k("attention.key_length"))) j["head_dim"] = m.get_int(k("attention.key_length"));
    if (arch == "llama") {
      j["attention_bias"] = has_tensor(g, "blk.0.attn_q.bias");
      j["mlp_bias"] = has_tensor(g, "blk.0.ffn_gate.bias");
    }
  }
  return j;
}

// llama.cpp's converter reorders the rows of llama's q/k projections (weights and biases) within each head of
// d rows so that its interleaved RoPE equals the hub's half-split one: GGUF row 2j + k holds hub row k·d/2 + j.
Tensor permute_rope_rows(const Tensor& t, int64_t d_head, bool to_gguf) {
  const int64_t rows = t.dim(0);
  WHALE_CHECK(rows % d_head == 0 && d_head % 2 == 0);
  const size_t row_bytes = t.nbytes() / size_t(rows);
  Tensor out = Tensor::zeros(t.dtype(), t.shape());
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.mutable_raw());
  for (int64_t h = 0; h < rows / d_head; ++h)
    for (int64_t j = 0; j < d_head / 2; ++j)
      for (int64_t k = 0; k < 2; ++k) {
        const int64_t hub = h * d_head + k * d_head / 2 + j, gguf = h * d_head + 2 * j + k;
        std::memcpy(dst + size_t(to_gguf ? gguf : hub) * row_bytes, src + size_t(to_gguf ? hub : gguf) * row_bytes,
                    row_bytes);
      }
  return out;
}

ModelConfig gguf_model_config(const GgufStore& g) {
  ModelConfig c = ModelConfig::from_json(gguf_hub_config(g), g.source().string());
  if (g.find("rope_freqs.weight") != nullptr) {
    // Per-dimension divisors of the rotation frequencies (how llama.cpp stores llama3 RoPE scaling).
    std::vector<float> f = g.get("rope_freqs.weight").f32_values();
    if (int64_t(f.size()) != c.d_head / 2)
      fail("{}: tensor 'rope_freqs.weight' has {} values, expected head_dim / 2 = {}", g.source().string(), f.size(),
           c.d_head / 2);
    c.rope.freq_factors.assign(f.begin(), f.end());
    c.validate(g.source().string());
  }
  return c;
}

std::optional<Tensor> GgufWeightSource::get(const std::string& gguf_name) const {
  if (gguf_.find(gguf_name) == nullptr) return std::nullopt;
  return gguf_.get(gguf_name);
}

GgufName gguf_name_of(const std::string& hub) {
  if (hub == "model.embed_tokens.weight") return {"token_embd.weight"};
  if (hub == "lm_head.weight") return {"output.weight"};
  if (hub == "model.norm.weight") return {"output_norm.weight"};
  static const std::regex kLayer(R"(model\.layers\.(\d+)\.(.+))");
  static const std::regex kExpert(R"(mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight)");
  std::smatch lm;
  if (!std::regex_match(hub, lm, kLayer)) return {};
  const std::string blk = "blk." + lm[1].str() + ".";
  const std::string rest = lm[2].str();
  std::smatch em;
  if (std::regex_match(rest, em, kExpert))
    return {blk + "ffn_" + em[2].str() + "_exps.weight", std::stoll(em[1].str())};
  for (const auto& [hub_part, gguf_part] : layer_renames()) {
    if (!rest.starts_with(hub_part)) continue;
    return {blk + gguf_part + rest.substr(hub_part.size()), -1,
            hub_part == "self_attn.q_proj." || hub_part == "self_attn.k_proj."};
  }
  return {};
}

std::optional<Tensor> GgufWeightSource::find(const std::string& hub) const {
  const GgufName g = gguf_name_of(hub);
  if (g.name.empty()) return std::nullopt;
  std::optional<Tensor> t = get(g.name);
  if (!t) return std::nullopt;
  if (g.expert >= 0) {  // one expert of the stacked [n_expert, rows, cols] tensor: a contiguous slice
    if (t->rank() != 3 || g.expert >= t->dim(0))
      fail("{}: tensor '{}' has shape {}, which holds no expert {}", where(), g.name, shape_str(t->shape()), g.expert);
    return t->slice(g.expert);
  }
  if (g.rope_permuted && config_.arch == Arch::Llama) return permute_rope_rows(*t, config_.d_head, /*to_gguf=*/false);
  return t;
}

std::optional<std::pair<Tensor, Tensor>> GgufWeightSource::absorbed_mla(int64_t layer) const {
  const std::string blk = "blk." + std::to_string(layer) + ".";
  std::optional<Tensor> uk_t = get(blk + "attn_k_b.weight"), uv = get(blk + "attn_v_b.weight");
  if (!uk_t || !uv) return std::nullopt;
  return std::make_pair(*uk_t, *uv);
}

}  // namespace whale
