#include "model/gguf_metadata.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>

#include "core/error.h"
#include "io/gguf_writer.h"
#include "io/json_file.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

using nlohmann::json;
using VT = GgufValueType;

GgufValue u32(int64_t v) { return gguf_int(VT::U32, v); }
GgufValue f32(double v) { return gguf_float(v); }

// The Split regexes of the pre-tokenizers llama.cpp knows by name, as their hub tokenizer.json files write
// them (each a Split with behavior Isolated, then ByteLevel without its own regex).
const std::vector<std::pair<std::string, std::vector<std::string>>>& known_pre_tokenizers() {
  static const std::string kWords =
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
      " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
  auto llama3_like = [](const std::string& digits) {
    return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\\p{L}\\p{N}]?\\p{L}+|" + digits +
           "| ?[^\\s\\p{L}\\p{N}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";
  };
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kKnown = {
      {"deepseek-v3", {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", kWords}},
      {"qwen2", {llama3_like("\\p{N}")}},
      {"llama-bpe", {llama3_like("\\p{N}{1,3}")}},
  };
  return kKnown;
}

std::string pre_tokenizer_name(const json& spec, const std::string& source) {
  std::vector<std::string> regexes;
  bool byte_level_last = false;
  const json steps = spec.is_object() && spec.value("type", "") == "Sequence" ? spec.value("pretokenizers", json::array())
                                                                              : json::array({spec});
  for (const json& step : steps) {
    byte_level_last = false;
    if (!step.is_object()) break;
    const std::string type = step.value("type", "");
    if (type == "Split" && step.value("behavior", "") == "Isolated" && !step.value("invert", false) &&
        step.contains("pattern") && step["pattern"].is_object() && step["pattern"].contains("Regex"))
      regexes.push_back(step["pattern"]["Regex"].get<std::string>());
    else if (type == "ByteLevel" && !step.value("use_regex", true))
      byte_level_last = true;
    else
      break;
  }
  if (byte_level_last)
    for (const auto& [name, known] : known_pre_tokenizers())
      if (known == regexes) return name;
  fail("{}: its pre_tokenizer is none that llama.cpp knows by name (whale writes deepseek-v3, qwen2 and llama-bpe); "
       "a GGUF file would tokenize differently",
       source);
}

// llama.cpp's converter also makes added tokens CONTROL that are not flagged special but look it.
bool looks_special(const std::string& t) {
  auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<｜", "｜>") || wrapped("<unused", ">");
}

// A token named by tokenizer_config.json (a string or {"content": ...}) → its id, or -1.
int64_t config_token_id(const json& config, const char* field, const Tokenizer& tok) {
  if (!config.contains(field) || config[field].is_null()) return -1;
  const json& v = config[field];
  const std::string content = v.is_string() ? v.get<std::string>() : v.value("content", "");
  return tok.token_to_id(content);
}

}  // namespace

GgufKeyValues gguf_model_keys(const ModelConfig& c, const std::string& name) {
  if (c.arch == Arch::Qwen3)
    fail("{}: writing qwen3 models as GGUF is not supported yet (supported: deepseek_v2/v3, qwen2, llama)", name);
  const std::string arch = c.is_mla() ? "deepseek2" : c.arch == Arch::Qwen2 ? "qwen2" : "llama";
  auto k = [&](const char* key) { return arch + "." + key; };
  GgufKeyValues kv = {
      {"general.architecture", gguf_string(arch)},
      {"general.type", gguf_string("model")},
      {"general.name", gguf_string(name)},
      {k("block_count"), u32(c.n_layer)},
      {k("context_length"), u32(c.max_position)},
      {k("embedding_length"), u32(c.d_model)},
      {k("feed_forward_length"), u32(c.d_ff)},
      {k("attention.head_count"), u32(c.n_head)},
      {k("attention.head_count_kv"), u32(c.is_mla() ? 1 : c.n_kv_head)},
      {k("rope.freq_base"), f32(c.rope.theta)},
      {k("attention.layer_norm_rms_epsilon"), f32(c.rms_eps)},
      {k("vocab_size"), u32(c.vocab_size)},
  };
  const RopeConfig& r = c.rope;
  if (r.scaling == RopeScaling::Linear) {
    kv.push_back({k("rope.scaling.type"), gguf_string("linear")});
    kv.push_back({k("rope.scaling.factor"), f32(r.factor)});
  } else if (r.scaling == RopeScaling::Yarn) {
    kv.push_back({k("rope.scaling.type"), gguf_string("yarn")});
    kv.push_back({k("rope.scaling.factor"), f32(r.factor)});
    kv.push_back({k("rope.scaling.original_context_length"), u32(r.original_max_position)});
    kv.push_back({k("rope.scaling.yarn_beta_fast"), f32(r.beta_fast)});
    kv.push_back({k("rope.scaling.yarn_beta_slow"), f32(r.beta_slow)});
    if (c.is_mla()) {
      if (std::fabs(r.mscale - r.mscale_all_dim) > 1e-9)
        fail("{}: YaRN mscale {} != mscale_all_dim {} cannot be expressed in GGUF (llama.cpp assumes them equal)",
             name, r.mscale, r.mscale_all_dim);
      kv.push_back({k("rope.scaling.yarn_log_multiplier"), f32(0.1 * r.mscale_all_dim)});
    }
  }  // llama3 scaling is written as the rope_freqs tensor
  if (c.is_mla()) {
    const bool moe = c.n_routed_experts > 0;
    kv.push_back({k("leading_dense_block_count"), u32(moe ? c.first_k_dense_replace : c.n_layer)});
    kv.push_back({k("attention.q_lora_rank"), u32(c.q_lora_rank)});  // 0 too: llama.cpp then reads q_proj
    kv.push_back({k("attention.kv_lora_rank"), u32(c.kv_lora_rank)});
    kv.push_back({k("attention.key_length"), u32(c.kv_lora_rank + c.qk_rope_head_dim)});
    kv.push_back({k("attention.value_length"), u32(c.kv_lora_rank)});
    kv.push_back({k("attention.key_length_mla"), u32(c.qk_head_dim())});
    kv.push_back({k("attention.value_length_mla"), u32(c.v_head_dim)});
    kv.push_back({k("rope.dimension_count"), u32(c.qk_rope_head_dim)});
    kv.push_back({k("expert_feed_forward_length"), u32(moe ? c.d_expert : c.d_ff)});
    kv.push_back({k("expert_shared_count"), u32(c.n_shared_experts)});
    if (moe) {
      kv.push_back({k("expert_count"), u32(c.n_routed_experts)});
      kv.push_back({k("expert_used_count"), u32(c.top_k)});
      kv.push_back({k("expert_group_count"), u32(c.n_group)});
      kv.push_back({k("expert_group_used_count"), u32(c.topk_group)});
      kv.push_back({k("expert_gating_func"), u32(c.scoring_func == ScoringFunc::Sigmoid ? 2 : 1)});
      kv.push_back({k("expert_weights_scale"), f32(c.routed_scaling_factor)});
      kv.push_back({k("expert_weights_norm"), gguf_int(VT::Bool, c.norm_topk_prob)});
    }
  } else {
    if (c.d_head * c.n_head != c.d_model || c.arch == Arch::Llama) {
      kv.push_back({k("attention.key_length"), u32(c.d_head)});
      kv.push_back({k("attention.value_length"), u32(c.d_head)});
    }
    if (c.arch == Arch::Llama) kv.push_back({k("rope.dimension_count"), u32(c.d_head)});
  }
  return kv;
}

GgufKeyValues gguf_tokenizer_keys(const std::filesystem::path& dir, int64_t vocab_size) {
  const std::string source = (dir / "tokenizer.json").string();
  const json tokenizer_json = read_json_file(dir / "tokenizer.json");
  const std::filesystem::path config_file = dir / "tokenizer_config.json";
  const json config = std::filesystem::exists(config_file) ? read_json_file(config_file) : json::object();
  const Tokenizer tok = Tokenizer::from_json(tokenizer_json, config, source);
  if (tok.vocab_size() > vocab_size)
    fail("{}: {} tokens, more than the model's vocab_size {}", source, tok.vocab_size(), vocab_size);
  // llama.cpp's token types: 1 normal, 3 control (special added tokens), 4 user-defined, 5 unused.
  std::map<int64_t, int64_t> added_type;
  for (const json& a : tokenizer_json.value("added_tokens", json::array()))
    added_type[a.value("id", int64_t(-1))] = a.value("special", false) || looks_special(a.value("content", "")) ? 3 : 4;
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  for (int32_t id = 0; id < int32_t(vocab_size); ++id) {
    if (!tok.is_valid_id(id)) {
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(5);
      continue;
    }
    tokens.push_back(tok.id_to_token(id));
    auto added = added_type.find(id);
    types.push_back(added == added_type.end() ? 1 : added->second);
  }
  std::vector<std::string> merges;
  const json& m = tokenizer_json.at("model").value("merges", json::array());
  for (const json& merge : m)
    merges.push_back(merge.is_string() ? merge.get<std::string>()
                                       : merge.at(0).get<std::string>() + " " + merge.at(1).get<std::string>());
  GgufKeyValues kv = {
      {"tokenizer.ggml.model", gguf_string("gpt2")},
      {"tokenizer.ggml.pre", gguf_string(pre_tokenizer_name(tokenizer_json.value("pre_tokenizer", json()), source))},
      {"tokenizer.ggml.tokens", gguf_strings(std::move(tokens))},
      {"tokenizer.ggml.token_type", gguf_ints(VT::I32, std::move(types))},
      {"tokenizer.ggml.merges", gguf_strings(std::move(merges))},
  };
  if (tok.bos_id() >= 0) kv.push_back({"tokenizer.ggml.bos_token_id", u32(tok.bos_id())});
  if (tok.eos_id() >= 0) kv.push_back({"tokenizer.ggml.eos_token_id", u32(tok.eos_id())});
  if (const int64_t pad = config_token_id(config, "pad_token", tok); pad >= 0)
    kv.push_back({"tokenizer.ggml.padding_token_id", u32(pad)});
  kv.push_back({"tokenizer.ggml.add_bos_token", gguf_int(VT::Bool, tok.add_bos_token())});
  kv.push_back({"tokenizer.ggml.add_eos_token", gguf_int(VT::Bool, config.value("add_eos_token", false))});
  // chat_template: a string, or (newer files) a list of {"name", "template"} whose "default" entry is the one.
  const json tmpl = config.value("chat_template", json());
  if (tmpl.is_string()) kv.push_back({"tokenizer.chat_template", gguf_string(tmpl.get<std::string>())});
  if (tmpl.is_array())
    for (const json& t : tmpl)
      if (t.is_object() && t.value("name", "") == "default" && t.contains("template") && t["template"].is_string())
        kv.push_back({"tokenizer.chat_template", gguf_string(t["template"].get<std::string>())});
  return kv;
}

GgufKeyValues gguf_metadata_for(const ModelConfig& config, const std::filesystem::path& dir) {
  const std::filesystem::path abs = std::filesystem::absolute(dir).lexically_normal();
  GgufKeyValues kv = gguf_model_keys(config, (abs.has_filename() ? abs : abs.parent_path()).filename().string());
  GgufKeyValues tok = gguf_tokenizer_keys(dir, config.vocab_size);
  kv.insert(kv.end(), tok.begin(), tok.end());
  return kv;
}

}  // namespace whale
