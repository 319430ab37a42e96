#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/config.h"

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

}  // namespace
}  // namespace whale
