// End-to-end checks of the forward pass against the reference fixtures (HF transformers, f32).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/generate.h"
#include "io/safetensors.h"
#include "model/model.h"

namespace whale {
namespace {

const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";

float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<int32_t> to_i32(const std::vector<int64_t>& v) { return {v.begin(), v.end()}; }

class FixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = kModels + GetParam();
    model_ = Model::load(dir_, pool_);
    ref_ = std::make_unique<TensorStore>(TensorStore::open(dir_ + "/reference.safetensors"));
  }
  ThreadPool pool_{2};
  std::string dir_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<TensorStore> ref_;
};

TEST_P(FixtureTest, LogitsAndHiddenStatesMatchReference) {
  Tensor ids = ref_->get("input_ids");
  const int64_t B = ids.dim(0), T = ids.dim(1);
  std::vector<int32_t> tokens = to_i32(ids.i64_values());
  std::vector<float> logits, hidden;
  model_->forward_full(tokens, B, T, {.mla_absorbed = false, .hidden_states = &hidden}, logits);
  std::vector<float> want = ref_->get("logits").f32_values();
  ASSERT_EQ(logits.size(), want.size());
  float err = max_abs_diff(logits.data(), want.data(), want.size());
  RecordProperty("max_logit_error", std::to_string(err));
  std::printf("[%s] max |logits - reference| = %.3g\n", GetParam().c_str(), err);
  EXPECT_LE(err, 1e-4f);

  // hidden_states: reference [layers+1, B, T, d]; ours [layers+1, B*T, d] — the same layout.
  std::vector<float> want_h = ref_->get("hidden_states").f32_values();
  ASSERT_EQ(hidden.size(), want_h.size());
  const int64_t per_layer = B * T * model_->config().d_model;
  for (int64_t l = 0; l <= model_->config().n_layer; ++l) {
    float e = max_abs_diff(hidden.data() + l * per_layer, want_h.data() + l * per_layer, size_t(per_layer));
    EXPECT_LE(e, 1e-4f) << "hidden_states[" << l << "]";
  }
}

TEST_P(FixtureTest, GreedyContinuationMatchesReference) {
  std::vector<int32_t> prompt = to_i32(ref_->get("generate_prompt").i64_values());
  std::vector<int32_t> want = to_i32(ref_->get("generate_tokens").i64_values());
  GenerateOptions opt{.max_new_tokens = int64_t(want.size())};
  EXPECT_EQ(generate(*model_, prompt, opt), want);
}

// Token-by-token decoding through the KV cache (absorbed MLA) reproduces the full causal forward.
TEST_P(FixtureTest, CachedDecodeEqualsFullForward) {
  Tensor ids = ref_->get("input_ids");
  const int64_t T = ids.dim(1), V = model_->config().vocab_size;
  std::vector<int32_t> tokens = to_i32(ids.i64_values());
  tokens.resize(size_t(T));  // first sequence
  std::vector<float> full, step;
  model_->forward_full(tokens, 1, T, {.mla_absorbed = false}, full);
  KvCache cache = model_->new_cache(T);
  float err = 0;
  for (int64_t t = 0; t < T; ++t) {
    SeqChunk chunk{std::span<const int32_t>(tokens).subspan(size_t(t), 1), &cache};
    model_->forward({&chunk, 1}, {.mla_absorbed = true}, step);
    err = std::max(err, max_abs_diff(step.data(), full.data() + t * V, size_t(V)));
  }
  std::printf("[%s] max |cached decode - full forward| = %.3g\n", GetParam().c_str(), err);
  EXPECT_LE(err, 1e-5f);
}

// The MLA cache holds only the compressed latent and the shared rope key per token per layer.
TEST_P(FixtureTest, MlaCacheHoldsOnlyLatentAndRopeKey) {
  const ModelConfig& c = model_->config();
  KvCache cache = model_->new_cache(10);
  const int64_t per_token = c.is_mla() ? c.kv_lora_rank + c.qk_rope_head_dim : 2 * c.n_kv_head * c.d_head;
  EXPECT_EQ(cache.nbytes(), size_t(c.n_layer * 10 * per_token) * sizeof(float));
}

// A chunked prefill (two chunks, then single tokens) equals the one-shot forward.
TEST_P(FixtureTest, ChunkedPrefillEqualsFullForward) {
  Tensor ids = ref_->get("input_ids");
  const int64_t T = ids.dim(1), V = model_->config().vocab_size;
  std::vector<int32_t> tokens = to_i32(ids.i64_values());
  tokens.resize(size_t(T));
  std::vector<float> full, part;
  model_->forward_full(tokens, 1, T, {}, full);
  KvCache cache = model_->new_cache(T);
  int64_t split = T / 3;
  SeqChunk first{std::span<const int32_t>(tokens).first(size_t(split)), &cache};
  model_->forward({&first, 1}, {}, part);
  EXPECT_LE(max_abs_diff(part.data(), full.data(), size_t(split * V)), 1e-5f);
  SeqChunk rest{std::span<const int32_t>(tokens).subspan(size_t(split)), &cache};
  model_->forward({&rest, 1}, {}, part);
  EXPECT_LE(max_abs_diff(part.data(), full.data() + split * V, size_t((T - split) * V)), 1e-5f);
}

INSTANTIATE_TEST_SUITE_P(Models, FixtureTest,
                         ::testing::Values("deepseek-v3-tiny", "deepseek-v2-lite-tiny", "deepseek-v2-yarn-tiny",
                                           "deepseek-v3-fp8-tiny", "qwen2-r1-distill-tiny", "llama-r1-distill-tiny",
                                           "qwen3-tiny"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

}  // namespace
}  // namespace whale
