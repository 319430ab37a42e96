#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/gguf_writer.h"
#include "model/config.h"
#include "model/gguf_model.h"
#include "temp_dir.h"

namespace whale {
namespace {

using nlohmann::json;
const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::string error_of(const json& j) {
  try {
    ModelConfig::from_json(j, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ParsesDeepseekV3Fixture) {
  ModelConfig c = ModelConfig::load(kModels + "deepseek-v3-tiny");
  EXPECT_EQ(c.arch, Arch::DeepseekV3);
  EXPECT_EQ(c.q_lora_rank, 32);
  EXPECT_EQ(c.kv_lora_rank, 16);
  EXPECT_EQ(c.topk_method, TopkMethod::NoauxTc);
  EXPECT_EQ(c.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_EQ(c.n_group, 4);
  EXPECT_EQ(c.topk_group, 2);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.rope.scaling, RopeScaling::Yarn);
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_TRUE(c.is_moe_layer(1));
  EXPECT_EQ(c.n_mtp_layers, 1);
}

TEST(Config, V2LiteHasNoQLora) {
  ModelConfig c = ModelConfig::load(kModels + "deepseek-v2-lite-tiny");
  EXPECT_EQ(c.q_lora_rank, 0);  // "q_lora_rank": null
  EXPECT_EQ(c.scoring_func, ScoringFunc::Softmax);
  EXPECT_EQ(c.topk_method, TopkMethod::Greedy);
  EXPECT_EQ(c.rope.scaling, RopeScaling::None);
}

TEST(Config, DenseModels) {
  ModelConfig q = ModelConfig::load(kModels + "qwen2-r1-distill-tiny");
  EXPECT_EQ(q.arch, Arch::Qwen2);
  EXPECT_TRUE(q.qkv_bias);
  EXPECT_EQ(q.n_kv_head, 2);
  EXPECT_EQ(q.d_head, 8);  // hidden_size / heads
  ModelConfig l = ModelConfig::load(kModels + "llama-r1-distill-tiny");
  EXPECT_EQ(l.d_head, 16);  // explicit head_dim
  EXPECT_EQ(l.rope.scaling, RopeScaling::Llama3);
  EXPECT_FALSE(l.qkv_bias);
}

TEST(Config, Fp8QuantizationConfig) {
  ModelConfig c = ModelConfig::load(kModels + "deepseek-v3-fp8-tiny");
  EXPECT_EQ(c.quant_block, 128);
}

// meta.json records the softmax scale HF used (qk_head_dim^-0.5 × mscale(factor, mscale_all_dim)²).
TEST(Config, AttentionScaleMatchesReference) {
  for (const char* name : {"deepseek-v3-tiny", "deepseek-v2-lite-tiny", "deepseek-v2-yarn-tiny", "deepseek-v3-fp8-tiny"}) {
    json meta = read_json(kModels + name + "/meta.json");
    ModelConfig c = ModelConfig::load(kModels + name);
    EXPECT_NEAR(c.attention_scale(), meta["attention_scaling"].get<double>(), 1e-9) << name;
  }
}

TEST(Config, RopeParametersFormEqualsLegacy) {
  json legacy = read_json(kModels + "deepseek-v3-tiny/config.json");
  json modern = legacy;
  json rp = legacy["rope_scaling"];
  rp.erase("type");
  rp["rope_type"] = "yarn";
  rp["rope_theta"] = 5000.0;
  modern.erase("rope_scaling");
  modern["rope_parameters"] = rp;
  ModelConfig a = ModelConfig::from_json(legacy, "a"), b = ModelConfig::from_json(modern, "b");
  EXPECT_EQ(b.rope.scaling, RopeScaling::Yarn);
  EXPECT_DOUBLE_EQ(b.rope.factor, a.rope.factor);
  EXPECT_DOUBLE_EQ(b.rope.mscale_all_dim, a.rope.mscale_all_dim);
  EXPECT_DOUBLE_EQ(b.rope.theta, 5000.0);
}

TEST(Config, ErrorsNameTheField) {
  json base = read_json(kModels + "deepseek-v3-tiny/config.json");
  json j = base;
  j["model_type"] = "mamba";
  EXPECT_NE(error_of(j).find("unsupported model_type 'mamba'"), std::string::npos);
  j = base;
  j.erase("hidden_size");
  EXPECT_NE(error_of(j).find("missing required field 'hidden_size'"), std::string::npos);
  j = base;
  j["num_hidden_layers"] = "three";
  EXPECT_NE(error_of(j).find("'num_hidden_layers' must be an integer"), std::string::npos);
  j = base;
  j["rope_scaling"]["type"] = "longrope";
  EXPECT_NE(error_of(j).find("unsupported rope type 'longrope'"), std::string::npos);
  j = base;
  j["topk_method"] = "random";
  EXPECT_NE(error_of(j).find("topk_method 'random'"), std::string::npos);
  j = base;
  j["hidden_size"] = 1e12;
  EXPECT_NE(error_of(j).find("hidden_size"), std::string::npos);
  j = base;
  j["num_experts_per_tok"] = 9;
  EXPECT_NE(error_of(j).find("num_experts_per_tok"), std::string::npos);
  j = base;
  j["quantization_config"]["quant_method"] = "gptq";
  EXPECT_NE(error_of(j).find("quant_method 'gptq'"), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("expected a JSON object"), std::string::npos);
  EXPECT_THROW(ModelConfig::load("/nonexistent/dir"), Error);
}

// Values that parse but make no sense: each is an error naming the file, the field and the value.
TEST(Config, RejectsSenselessValuesNamingFieldAndValue) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const json v3 = read_json(kModels + "deepseek-v3-tiny/config.json");      // vocab 320, 8 experts, 4 groups
  const json llama = read_json(kModels + "llama-r1-distill-tiny/config.json");  // llama3 RoPE scaling
  struct Case {
    const json& base;
    std::function<void(json&)> edit;
    std::string field, value;
  };
  const std::vector<Case> cases = {
      {v3, [&](json& j) { j["rms_norm_eps"] = 0.0; }, "rms_norm_eps", "= 0 "},
      {v3, [&](json& j) { j["rms_norm_eps"] = -1e-6; }, "rms_norm_eps", "-1e-06"},
      {v3, [&](json& j) { j["rms_norm_eps"] = nan; }, "rms_norm_eps", "nan"},
      {v3, [&](json& j) { j["rms_norm_eps"] = inf; }, "rms_norm_eps", "inf"},
      {v3, [&](json& j) { j["rope_theta"] = 0; }, "rope_theta", "= 0 "},
      {v3, [&](json& j) { j["rope_theta"] = -10000; }, "rope_theta", "-10000"},
      {v3, [&](json& j) { j["rope_theta"] = nan; }, "rope_theta", "nan"},
      {v3, [&](json& j) { j["rope_scaling"]["factor"] = inf; }, "rope_scaling.factor", "inf"},
      {v3, [&](json& j) { j["rope_scaling"]["factor"] = -4.0; }, "rope_scaling.factor", "-4"},
      {v3, [&](json& j) { j["rope_scaling"]["factor"] = 0; }, "rope_scaling.factor", "= 0 "},
      {v3, [&](json& j) { j["rope_scaling"]["mscale"] = nan; }, "rope_scaling.mscale", "nan"},
      {v3, [&](json& j) { j["rope_scaling"]["original_max_position_embeddings"] = 0; },
       "rope_scaling.original_max_position_embeddings", "= 0 "},
      {llama, [&](json& j) { j["rope_scaling"]["low_freq_factor"] = 0.0; }, "rope_scaling.low_freq_factor", "= 0 "},
      {v3, [&](json& j) { j["bos_token_id"] = 320; }, "bos_token_id", "320"},
      {v3, [&](json& j) { j["bos_token_id"] = -2; }, "bos_token_id", "-2"},
      {v3, [&](json& j) { j["eos_token_id"] = 320; }, "eos_token_id", "320"},
      {v3, [&](json& j) { j["eos_token_id"] = json::array({1, 999}); }, "eos_token_id", "999"},
      {v3, [&](json& j) { j["eos_token_id"] = -1; }, "eos_token_id", "-1"},
      {v3, [&](json& j) { j["pad_token_id"] = 400; }, "pad_token_id", "400"},
      {v3, [&](json& j) { j["vocab_size"] = 0; }, "vocab_size", "= 0 "},
      {v3, [&](json& j) { j["hidden_size"] = -64; }, "hidden_size", "-64"},
      {v3, [&](json& j) { j["num_hidden_layers"] = 0; }, "num_hidden_layers", "= 0 "},
      {v3, [&](json& j) { j["num_attention_heads"] = 0; }, "num_attention_heads", "= 0 "},
      {v3, [&](json& j) { j["intermediate_size"] = 0; }, "intermediate_size", "= 0 "},
      {v3, [&](json& j) { j["moe_intermediate_size"] = 0; }, "moe_intermediate_size", "= 0 "},
      {v3, [&](json& j) { j["kv_lora_rank"] = 0; }, "kv_lora_rank", "= 0 "},
      {v3, [&](json& j) { j["v_head_dim"] = -16; }, "v_head_dim", "-16"},
      {llama, [&](json& j) { j["head_dim"] = 0; }, "head_dim", "= 0 "},
      {llama, [&](json& j) { j["num_key_value_heads"] = 0; }, "num_key_value_heads", "= 0 "},
      {v3, [&](json& j) { j["num_experts_per_tok"] = 9; }, "num_experts_per_tok", "9"},
      {v3, [&](json& j) { j["num_experts_per_tok"] = 0; }, "num_experts_per_tok", "= 0 "},
      {v3, [&](json& j) { j["n_group"] = 3; }, "n_group = 3", "n_routed_experts = 8"},
      {v3, [&](json& j) { j["n_group"] = 16; }, "n_group", "16"},
      {v3, [&](json& j) { j["topk_group"] = 5; }, "topk_group", "5"},
      {v3, [&](json& j) { j["topk_group"] = 1, j["num_experts_per_tok"] = 3; }, "num_experts_per_tok = 3", "topk_group = 1"},
      {v3, [&](json& j) { j["routed_scaling_factor"] = 0.0; }, "routed_scaling_factor", "= 0 "},
  };
  for (const Case& c : cases) {
    json j = c.base;
    c.edit(j);
    const std::string msg = error_of(j);
    EXPECT_NE(msg.find("cfg.json"), std::string::npos) << c.field << ": " << msg;
    EXPECT_NE(msg.find(c.field), std::string::npos) << c.field << ": " << msg;
    EXPECT_NE((msg + " ").find(c.value), std::string::npos) << c.field << ": " << msg;
  }
  // Absent special tokens are fine: null, or -1 as some hub configs write for "none".
  json j = v3;
  j["bos_token_id"] = nullptr;
  j["pad_token_id"] = -1;
  EXPECT_EQ(error_of(j), "");
}

// GGUF metadata becomes the same config and passes the same checks; the error names the .gguf file.
TEST(Config, GgufMetadataIsValidatedAlike) {
  testing::TempDir dir;
  auto write = [&](double rms_eps, int64_t bos) {
    const std::filesystem::path path = dir.path() / "m.gguf";
    auto u32 = [](int64_t v) { return gguf_int(GgufValueType::U32, v); };
    GgufWriter w(path,
                 {{"general.architecture", gguf_string("llama")},
                  {"llama.block_count", u32(1)},
                  {"llama.embedding_length", u32(8)},
                  {"llama.feed_forward_length", u32(16)},
                  {"llama.attention.head_count", u32(2)},
                  {"llama.context_length", u32(32)},
                  {"llama.attention.layer_norm_rms_epsilon", gguf_float(rms_eps)},
                  {"tokenizer.ggml.bos_token_id", u32(bos)}},
                 {{"token_embd.weight", DType::F32, {16, 8}}});
    const std::vector<float> embd(16 * 8, 0.5f);
    w.write_tensor(embd.data(), embd.size() * sizeof(float));
    w.finish();
    return path;
  };
  auto gguf_error = [&](const std::filesystem::path& path) {
    try {
      gguf_model_config(GgufStore::open(path));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(gguf_error(write(1e-5, 0)), "");
  std::string msg = gguf_error(write(std::numeric_limits<double>::quiet_NaN(), 0));
  EXPECT_NE(msg.find("m.gguf: rms_norm_eps = nan"), std::string::npos) << msg;
  msg = gguf_error(write(1e-5, 16));
  EXPECT_NE(msg.find("m.gguf: bos_token_id = 16 is outside the vocabulary [0, 16)"), std::string::npos) << msg;
}

}  // namespace
}  // namespace whale
