#include "model/config.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/json_file.h"

namespace whale {
namespace {

using nlohmann::json;

// Field readers that name the file and key in every error.
struct Fields {
  const json& j;
  const std::string& source;

  bool has(const char* key) const { return j.contains(key) && !j.at(key).is_null(); }

  int64_t int_req(const char* key) const {
    if (!has(key)) fail("{}: missing required field '{}'", source, key);
    return as_int(j.at(key), key);
  }
  int64_t int_or(const char* key, int64_t fallback) const { return has(key) ? as_int(j.at(key), key) : fallback; }
  double num_or(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    if (!j.at(key).is_number()) fail("{}: field '{}' must be a number", source, key);
    return j.at(key).get<double>();
  }
  bool bool_or(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    if (!j.at(key).is_boolean()) fail("{}: field '{}' must be true or false", source, key);
    return j.at(key).get<bool>();
  }
  std::string str_or(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!j.at(key).is_string()) fail("{}: field '{}' must be a string", source, key);
    return j.at(key).get<std::string>();
  }

  int64_t as_int(const json& v, const char* key) const {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) < 9e18)
      return int64_t(v.get<double>());
    fail("{}: field '{}' must be an integer", source, key);
  }
};

Arch parse_arch(const std::string& model_type, const std::string& source) {
  if (model_type == "deepseek_v3") return Arch::DeepseekV3;
  if (model_type == "deepseek_v2") return Arch::DeepseekV2;
  if (model_type == "qwen2") return Arch::Qwen2;
  if (model_type == "qwen3") return Arch::Qwen3;
  if (model_type == "llama") return Arch::Llama;
  fail("{}: unsupported model_type '{}' (supported: deepseek_v3, deepseek_v2, qwen2, qwen3, llama)", source,
       model_type);
}

// Legacy `rope_scaling` ({type|rope_type: ...}) or the newer `rope_parameters` (which may also carry rope_theta).
RopeConfig parse_rope(const json& j, const Fields& top, int64_t max_position) {
  RopeConfig rope;
  rope.theta = top.num_or("rope_theta", 10000.0);
  const char* key = top.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  if (!top.has(key)) return rope;
  const json& r = j.at(key);
  std::string where = top.source + ": " + key;
  if (!r.is_object()) fail("{} must be an object or null", where);
  Fields f{r, where};
  rope.theta = f.num_or("rope_theta", rope.theta);
  std::string type = f.str_or("rope_type", f.str_or("type", "default"));
  if (type == "default" || type == "none") return rope;
  rope.factor = f.num_or("factor", 1.0);  // checked in validate(), as the other values
  rope.original_max_position = f.int_or("original_max_position_embeddings", max_position);
  if (type == "linear") {
    rope.scaling = RopeScaling::Linear;
  } else if (type == "yarn") {
    rope.scaling = RopeScaling::Yarn;
    rope.beta_fast = f.num_or("beta_fast", 32.0);
    rope.beta_slow = f.num_or("beta_slow", 1.0);
    rope.mscale = f.num_or("mscale", 1.0);
    rope.mscale_all_dim = f.num_or("mscale_all_dim", 0.0);
  } else if (type == "llama3") {
    rope.scaling = RopeScaling::Llama3;
    rope.low_freq_factor = f.num_or("low_freq_factor", 1.0);
    rope.high_freq_factor = f.num_or("high_freq_factor", 4.0);
    if (!(rope.high_freq_factor > rope.low_freq_factor))
      fail("{}: high_freq_factor must exceed low_freq_factor", where);
  } else {
    fail("{}: unsupported rope type '{}' (supported: default, linear, yarn, llama3)", where, type);
  }
  return rope;
}

TopkMethod parse_topk_method(const std::string& s, const std::string& source) {
  if (s == "greedy") return TopkMethod::Greedy;
  if (s == "group_limited_greedy") return TopkMethod::GroupLimitedGreedy;
  if (s == "noaux_tc") return TopkMethod::NoauxTc;
  fail("{}: unsupported topk_method '{}' (supported: greedy, group_limited_greedy, noaux_tc)", source, s);
}

// A special token id must index the embedding; -1 means none (the default; some hub configs write it).
void check_token_id(const std::string& source, const char* name, int64_t id, int64_t vocab_size, bool none_allowed) {
  if ((id < 0 || id >= vocab_size) && !(none_allowed && id == -1))
    fail("{}: {} = {} is outside the vocabulary [0, {})", source, name, id, vocab_size);
}

ScoringFunc parse_scoring(const std::string& s, const std::string& source) {
  if (s == "softmax") return ScoringFunc::Softmax;
  if (s == "sigmoid") return ScoringFunc::Sigmoid;
  fail("{}: unsupported scoring_func '{}' (supported: softmax, sigmoid)", source, s);
}

}  // namespace

double yarn_mscale(double scale, double m) { return scale <= 1.0 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; }

bool ModelConfig::is_moe_layer(int64_t layer) const {
  return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
}

double ModelConfig::attention_scale() const {
  double d = is_mla() ? double(qk_head_dim()) : double(d_head);
  double scale = 1.0 / std::sqrt(d);
  // DeepSeek MLA with YaRN: softmax scale × mscale(factor, mscale_all_dim)² (config keys rope_scaling.*).
  if (is_mla() && rope.scaling == RopeScaling::Yarn && rope.mscale_all_dim != 0.0) {
    double m = yarn_mscale(rope.factor, rope.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

namespace {

// Parameter count in T: double for the limit check (cannot overflow), int64_t once the config is valid.
template <typename T>
T count_params(const ModelConfig& c) {
  const T vocab = T(c.vocab_size), d_model = T(c.d_model), n_head = T(c.n_head);
  T p = vocab * d_model * T(c.tie_word_embeddings ? 1 : 2) + d_model;
  for (int64_t l = 0; l < c.n_layer; ++l) {
    p += T(2) * d_model;  // norms
    if (c.is_mla()) {
      const T q_out = n_head * T(c.qk_head_dim()), q_lora = T(c.q_lora_rank), kv_lora = T(c.kv_lora_rank);
      p += c.q_lora_rank ? d_model * q_lora + q_lora + q_lora * q_out : d_model * q_out;
      p += d_model * (kv_lora + T(c.qk_rope_head_dim)) + kv_lora;
      p += kv_lora * n_head * T(c.qk_nope_head_dim + c.v_head_dim) + n_head * T(c.v_head_dim) * d_model;
    } else {
      p += d_model * (n_head + T(2) * T(c.n_kv_head)) * T(c.d_head) + n_head * T(c.d_head) * d_model;
    }
    if (c.is_moe_layer(l)) {
      p += T(c.n_routed_experts) * d_model +
           T(c.n_routed_experts + c.n_shared_experts) * T(3) * d_model * T(c.d_expert);
    } else {
      p += T(3) * d_model * T(c.d_ff);
    }
  }
  return p;
}

}  // namespace

int64_t ModelConfig::n_params() const { return count_params<int64_t>(*this); }

ModelConfig ModelConfig::from_json(const json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: expected a JSON object", source);
  Fields f{j, source};
  ModelConfig c;
  if (!f.has("model_type")) fail("{}: missing required field 'model_type'", source);
  c.model_type = f.str_or("model_type", "");
  c.arch = parse_arch(c.model_type, source);
  c.vocab_size = f.int_req("vocab_size");
  c.d_model = f.int_req("hidden_size");
  c.n_layer = f.int_req("num_hidden_layers");
  c.n_head = f.int_req("num_attention_heads");
  c.n_kv_head = f.int_or("num_key_value_heads", c.n_head);
  c.d_ff = f.int_req("intermediate_size");
  c.rms_eps = f.num_or("rms_norm_eps", 1e-6);
  c.max_position = f.int_or("max_position_embeddings", 4096);
  c.tie_word_embeddings = f.bool_or("tie_word_embeddings", false);
  c.bos_token_id = f.int_or("bos_token_id", -1);
  if (f.has("eos_token_id")) {
    const json& e = j.at("eos_token_id");
    if (e.is_array()) {
      for (const json& v : e) c.eos_token_ids.push_back(f.as_int(v, "eos_token_id"));
    } else {
      c.eos_token_ids.push_back(f.int_req("eos_token_id"));
    }
  }
  c.rope = parse_rope(j, f, c.max_position);

  bool attention_bias = f.bool_or("attention_bias", false);
  switch (c.arch) {
    case Arch::Qwen2:
      c.qkv_bias = true;
      break;
    case Arch::Qwen3:  // q_norm / k_norm per head; attention_bias as Qwen3Attention reads it
      c.qk_norm = true;
      c.qkv_bias = c.o_bias = attention_bias;
      break;
    case Arch::Llama:
      c.qkv_bias = c.o_bias = attention_bias;
      c.mlp_bias = f.bool_or("mlp_bias", false);
      break;
    case Arch::DeepseekV3:
    case Arch::DeepseekV2:
      if (attention_bias) fail("{}: attention_bias true is not supported for {}", source, c.model_type);
      break;
  }
  if (c.is_mla()) {
    c.q_lora_rank = f.int_or("q_lora_rank", 0);
    c.kv_lora_rank = f.int_req("kv_lora_rank");
    c.qk_nope_head_dim = f.int_req("qk_nope_head_dim");
    c.qk_rope_head_dim = f.int_req("qk_rope_head_dim");
    c.v_head_dim = f.int_req("v_head_dim");
    c.d_head = c.qk_rope_head_dim;
    c.n_routed_experts = f.int_or("n_routed_experts", 0);
    if (c.n_routed_experts > 0) {
      c.n_shared_experts = f.int_or("n_shared_experts", 0);
      c.top_k = f.int_req("num_experts_per_tok");
      c.d_expert = f.int_req("moe_intermediate_size");
      c.first_k_dense_replace = f.int_or("first_k_dense_replace", 0);
      c.moe_layer_freq = f.int_or("moe_layer_freq", 1);
      c.n_group = f.int_or("n_group", 1);
      c.topk_group = f.int_or("topk_group", 1);
      std::string default_method = c.arch == Arch::DeepseekV3 ? "noaux_tc" : "greedy";
      c.topk_method = parse_topk_method(f.str_or("topk_method", default_method), source);
      std::string default_scoring = c.arch == Arch::DeepseekV3 ? "sigmoid" : "softmax";
      c.scoring_func = parse_scoring(f.str_or("scoring_func", default_scoring), source);
      c.norm_topk_prob = f.bool_or("norm_topk_prob", false);
      c.routed_scaling_factor = f.num_or("routed_scaling_factor", 1.0);
    }
    c.n_mtp_layers = f.int_or("num_nextn_predict_layers", 0);
  } else {
    c.d_head = f.int_or("head_dim", c.n_head > 0 ? c.d_model / c.n_head : 0);
  }
  if (f.has("quantization_config")) {
    const json& q = j.at("quantization_config");
    Fields qf{q, source + ": quantization_config"};
    std::string method = qf.str_or("quant_method", "");
    if (method != "fp8") fail("{}: unsupported quantization_config.quant_method '{}' (supported: fp8)", source, method);
    c.quant_block = 128;
    if (qf.has("weight_block_size")) {
      const json& b = q.at("weight_block_size");
      if (!b.is_array() || b.size() != 2 || b[0] != b[1] || !b[0].is_number_integer())
        fail("{}: quantization_config.weight_block_size must be [n, n]", source);
      c.quant_block = b[0].get<int64_t>();
      if (c.quant_block != 128) fail("{}: fp8 weight_block_size {} is not supported (only 128)", source, c.quant_block);
    }
  }
  c.validate(source);
  // The engine pads with nothing, but a pad id outside the vocabulary still marks a broken config.
  check_token_id(source, "pad_token_id", f.int_or("pad_token_id", -1), c.vocab_size, /*none_allowed=*/true);
  return c;
}

void ModelConfig::validate(const std::string& source) const {
  auto in_range = [&](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) fail("{}: {} = {} is out of range [{}, {}]", source, name, v, lo, hi);
  };
  in_range("vocab_size", vocab_size, 1, int64_t(1) << 24);
  in_range("hidden_size", d_model, 1, 1 << 16);
  in_range("num_hidden_layers", n_layer, 1, 1024);
  in_range("num_attention_heads", n_head, 1, 1024);
  in_range("intermediate_size", d_ff, 1, 1 << 20);
  in_range("max_position_embeddings", max_position, 1, int64_t(1) << 24);
  auto positive = [&](const char* name, double v) {
    if (!(v > 0 && std::isfinite(v))) fail("{}: {} = {} must be a positive, finite number", source, name, v);
  };
  auto finite = [&](const char* name, double v) {
    if (!std::isfinite(v)) fail("{}: {} = {} must be a finite number", source, name, v);
  };
  positive("rms_norm_eps", rms_eps);
  positive("rope_theta", rope.theta);
  positive("rope_scaling.factor", rope.factor);
  if (rope.scaling == RopeScaling::Yarn || rope.scaling == RopeScaling::Llama3)
    in_range("rope_scaling.original_max_position_embeddings", rope.original_max_position, 1, int64_t(1) << 24);
  finite("rope_scaling.beta_fast", rope.beta_fast);
  finite("rope_scaling.beta_slow", rope.beta_slow);
  finite("rope_scaling.mscale", rope.mscale);
  finite("rope_scaling.mscale_all_dim", rope.mscale_all_dim);
  positive("rope_scaling.low_freq_factor", rope.low_freq_factor);
  positive("rope_scaling.high_freq_factor", rope.high_freq_factor);
  check_token_id(source, "bos_token_id", bos_token_id, vocab_size, /*none_allowed=*/true);
  for (int64_t id : eos_token_ids) check_token_id(source, "eos_token_id", id, vocab_size, /*none_allowed=*/false);
  if (is_mla()) {
    in_range("q_lora_rank", q_lora_rank, 0, 1 << 16);
    in_range("kv_lora_rank", kv_lora_rank, 1, 1 << 16);
    in_range("qk_nope_head_dim", qk_nope_head_dim, 0, 4096);
    in_range("qk_rope_head_dim", qk_rope_head_dim, 2, 4096);
    in_range("v_head_dim", v_head_dim, 1, 4096);
    if (qk_rope_head_dim % 2) fail("{}: qk_rope_head_dim must be even", source);
    if (n_routed_experts > 0) {
      in_range("n_routed_experts", n_routed_experts, 1, 1 << 16);
      in_range("n_shared_experts", n_shared_experts, 0, 1 << 10);
      in_range("num_experts_per_tok", top_k, 1, n_routed_experts);
      in_range("moe_intermediate_size", d_expert, 1, 1 << 20);
      positive("routed_scaling_factor", routed_scaling_factor);
      in_range("moe_layer_freq", moe_layer_freq, 1, 1024);
      in_range("n_group", n_group, 1, std::min<int64_t>(n_routed_experts, 1024));
      in_range("topk_group", topk_group, 1, n_group);
      if (n_routed_experts % n_group)
        fail("{}: n_routed_experts = {} is not divisible by n_group = {}", source, n_routed_experts, n_group);
      if (topk_method != TopkMethod::Greedy && top_k > topk_group * (n_routed_experts / n_group))
        fail("{}: num_experts_per_tok = {} exceeds the {} experts of the topk_group = {} kept groups", source, top_k,
             topk_group * (n_routed_experts / n_group), topk_group);
    }
  } else {
    in_range("num_key_value_heads", n_kv_head, 1, n_head);
    in_range("head_dim", d_head, 2, 4096);
    if (n_head % n_kv_head) fail("{}: num_attention_heads must be a multiple of num_key_value_heads", source);
    if (d_head % 2) fail("{}: head_dim must be even", source);
  }
  for (double f : rope.freq_factors)
    if (!(f > 0 && std::isfinite(f))) fail("{}: RoPE frequency factor {} is not a positive number", source, f);
  // Guard against configs that would exhaust memory (parameters beyond 4T; the int64 count cannot overflow).
  if (double(vocab_size) * double(d_model) > 4e12) fail("{}: vocab_size × hidden_size is absurd", source);
  if (const double n = count_params<double>(*this); n > 4e12)
    fail("{}: the dimensions give {:.3g} parameters, beyond the 4e12 limit", source, n);
}

ModelConfig ModelConfig::load(const std::filesystem::path& dir_or_file) {
  std::filesystem::path path = dir_or_file;
  if (std::filesystem::is_directory(path)) path /= "config.json";
  return from_json(read_json_file(path), path.string());
}

}  // namespace whale
