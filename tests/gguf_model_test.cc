// GGUF models against llama.cpp (tests/fixtures/gguf): every file of the tiny deepseek2 / qwen2 / llama
// models, BF16 and each llama-quantize type. whale computes in f32 on the dequantized weights, so it must
// reproduce llama.cpp's all-f32 run on the same dequantized weights (logits_f32dq, greedy_f32dq) to f32
// rounding, and llama.cpp's default run (8-bit/bf16 activations, f16 KV cache) within the README's bounds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>

#include "engine/generate.h"
#include "error_of.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/gguf_model.h"
#include "model/model.h"

namespace whale {
namespace {

using testing::error_of;
const std::string kGguf = std::string(WHALE_FIXTURES_DIR) + "/gguf/";

struct Case {
  std::string model, type;
  std::string dir() const { return kGguf + model + "/" + type; }
  std::string file() const { return dir() + "/" + model + "-" + type + ".gguf"; }
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.model + "_" + info.param.type; }

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const char* t : {"BF16", "Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_XS"}) cases.push_back({"ds3", t});
  for (const char* m : {"qwen2", "llama"})
    for (const char* t : {"BF16", "Q8_0", "Q4_K_M"}) cases.push_back({m, t});
  return cases;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::vector<int32_t> to_i32(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

class GgufModelTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    model_ = Model::load(GetParam().file(), pool_);
    ref_ = std::make_unique<TensorStore>(TensorStore::open(GetParam().dir() + "/logits.safetensors"));
    meta_ = read_json(GetParam().dir() + "/meta.json");
  }
  bool quantized() const { return GetParam().type != "BF16"; }
  ThreadPool pool_{2};
  std::unique_ptr<Model> model_;
  std::unique_ptr<TensorStore> ref_;
  nlohmann::json meta_;
};

TEST_P(GgufModelTest, LogitsMatchLlamaCpp) {
  Tensor ids = ref_->get("input_ids");
  const int64_t B = ids.dim(0), T = ids.dim(1), V = model_->config().vocab_size;
  std::vector<float> logits;
  model_->forward_full(to_i32(ids.i64_values()), B, T, {}, logits);
  const std::vector<float> f32dq = ref_->get("logits_f32dq").f32_values();
  const std::vector<float> llama = ref_->get("logits").f32_values();
  ASSERT_EQ(logits.size(), f32dq.size());

  std::set<std::pair<int64_t, int64_t>> divergent;  // near-tied routing where llama.cpp's rounding picks otherwise
  for (const auto& p : meta_["tolerances"]["routing_divergent_positions"]) divergent.insert({p[0].get<int64_t>(), p[1].get<int64_t>()});
  float max_f32dq = 0, max_llama = 0;
  double sum_llama = 0;
  int64_t n_llama = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const bool skip = divergent.count({b, t}) != 0;
      for (int64_t v = 0; v < V; ++v) {
        const size_t i = size_t((b * T + t) * V + v);
        max_f32dq = std::max(max_f32dq, std::fabs(logits[i] - f32dq[i]));
        if (skip) continue;
        const float d = std::fabs(logits[i] - llama[i]);
        max_llama = std::max(max_llama, d);
        sum_llama += d, ++n_llama;
      }
    }
  const double mean_llama = sum_llama / double(n_llama);
  std::printf("[%s %s] max |whale - llama.cpp f32dq| = %.3g; vs llama.cpp default: max %.3g mean %.3g\n",
              GetParam().model.c_str(), GetParam().type.c_str(), max_f32dq, max_llama, mean_llama);
  EXPECT_LE(max_f32dq, 1e-4f);
  EXPECT_LE(max_llama, quantized() ? 0.5f : 0.1f);
  EXPECT_LE(mean_llama, quantized() ? 0.06 : 0.012);
}

TEST_P(GgufModelTest, GreedyContinuationMatchesLlamaCpp) {
  const std::vector<int32_t> prompt = to_i32(ref_->get("greedy_prompt").i64_values());
  GenerateOptions opt;
  opt.max_new_tokens = 16;
  const std::vector<int32_t> got = generate(*model_, prompt, opt);
  EXPECT_EQ(got, to_i32(ref_->get("greedy_f32dq").i64_values()));
  // llama.cpp's own path: equal up to its first step whose top-1/top-2 margin is below the logits tolerance.
  const std::vector<int32_t> llama = to_i32(ref_->get("greedy").i64_values());
  const auto& margins = meta_["inputs"]["greedy_top1_top2_margins"];
  const double tol = quantized() ? 0.5 : 0.1;
  for (size_t i = 0; i < llama.size() && margins[i].get<double>() >= tol; ++i)
    EXPECT_EQ(got.at(i), llama[i]) << "step " << i;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufModelTest, ::testing::ValuesIn(all_cases()), case_name);

// The metadata alone must give the same model as the checkpoint's hub config.json.
TEST(GgufModelConfig, EqualsTheSourceHubConfig) {
  for (const char* m : {"ds3", "qwen2", "llama"}) {
    SCOPED_TRACE(m);
    GgufStore gguf = GgufStore::open(kGguf + m + "/Q8_0/" + m + "-Q8_0.gguf");
    ModelConfig got = gguf_model_config(gguf);
    ModelConfig want = ModelConfig::load(kGguf + m + "/source/config.json");
    EXPECT_EQ(got.arch, want.arch);
    EXPECT_EQ(got.n_params(), want.n_params());
    EXPECT_EQ(got.n_layer, want.n_layer);
    EXPECT_EQ(got.n_kv_head, want.n_kv_head);
    EXPECT_EQ(got.d_head, want.d_head);
    EXPECT_EQ(got.qk_nope_head_dim, want.qk_nope_head_dim);
    EXPECT_EQ(got.v_head_dim, want.v_head_dim);
    EXPECT_EQ(got.topk_method, want.topk_method);
    EXPECT_EQ(got.scoring_func, want.scoring_func);
    EXPECT_EQ(got.n_group, want.n_group);
    EXPECT_EQ(got.topk_group, want.topk_group);
    EXPECT_EQ(got.norm_topk_prob, want.norm_topk_prob);
    EXPECT_NEAR(got.routed_scaling_factor, want.routed_scaling_factor, 1e-6);
    EXPECT_NEAR(got.rms_eps, want.rms_eps, 1e-12);
    EXPECT_NEAR(got.attention_scale(), want.attention_scale(), 1e-6);
    EXPECT_EQ(got.tie_word_embeddings, want.tie_word_embeddings);
  }
}

TEST(GgufModelLoad, ADirectoryHoldingOneGgufLoads) {
  ThreadPool pool(1);
  std::unique_ptr<Model> m = Model::load(kGguf + "qwen2/Q8_0", pool);
  EXPECT_EQ(m->config().arch, Arch::Qwen2);
}

TEST(GgufModelLoad, AVocabOnlyFileIsNotAModel) {
  ThreadPool pool(1);
  std::string msg = error_of([&] { Model::load(kGguf + "deepseek-v3-vocab/deepseek-v3-vocab.gguf", pool); });
  EXPECT_NE(msg.find("token_embd.weight"), std::string::npos) << msg;
}

TEST(GgufModelLoad, APathThatIsNoModelSaysWhatIsSupported) {
  ThreadPool pool(1);
  std::string msg = error_of([&] { Model::load(kGguf + "ds3/source/tokenizer.json", pool); });
  EXPECT_NE(msg.find("GGUF"), std::string::npos) << msg;
}

}  // namespace
}  // namespace whale
