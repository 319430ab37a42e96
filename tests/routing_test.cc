// Expert selection against hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "model/routing.h"

namespace whale {
namespace {

struct Routed {
  std::vector<int32_t> idx;
  std::vector<float> weight;
};

Routed route(const ModelConfig& c, std::vector<float> logits, const std::vector<float>& bias = {}) {
  Routed r{std::vector<int32_t>(size_t(c.top_k)), std::vector<float>(size_t(c.top_k))};
  std::vector<float> scratch(size_t(2 * c.n_routed_experts));
  route_token(c, logits.data(), bias.empty() ? nullptr : bias.data(), r.idx.data(), r.weight.data(), scratch.data());
  return r;
}

ModelConfig v2(int64_t experts, int64_t top_k) {
  ModelConfig c;
  c.arch = Arch::DeepseekV2;
  c.n_routed_experts = experts;
  c.top_k = top_k;
  c.scoring_func = ScoringFunc::Softmax;
  c.topk_method = TopkMethod::Greedy;
  return c;
}

TEST(Routing, SoftmaxGreedyTopK) {
  ModelConfig c = v2(4, 2);
  c.routed_scaling_factor = 2.0;
  Routed r = route(c, {0.0f, 2.0f, 1.0f, -1.0f});
  double z = 1 + std::exp(2.0) + std::exp(1.0) + std::exp(-1.0);
  EXPECT_EQ(r.idx, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weight[0], 2.0 * std::exp(2.0) / z, 1e-6);  // unnormalised, × routed_scaling_factor
  EXPECT_NEAR(r.weight[1], 2.0 * std::exp(1.0) / z, 1e-6);
}

TEST(Routing, V2NormalisedWeightsAreNotScaled) {
  ModelConfig c = v2(4, 2);
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 16.0;
  Routed r = route(c, {0.0f, 2.0f, 1.0f, -1.0f});
  EXPECT_NEAR(r.weight[0] + r.weight[1], 1.0, 1e-6);
  EXPECT_NEAR(r.weight[0], std::exp(2.0) / (std::exp(2.0) + std::exp(1.0)), 1e-6);
}

TEST(Routing, GroupLimitedGreedyUsesGroupMax) {
  // 6 experts in 3 groups of 2; keep 1 group. Group maxima: g0 = e1, g1 = e2 (largest), g2 = e5.
  ModelConfig c = v2(6, 2);
  c.topk_method = TopkMethod::GroupLimitedGreedy;
  c.n_group = 3;
  c.topk_group = 1;
  Routed r = route(c, {0.5f, 1.0f, 3.0f, -2.0f, 0.0f, 2.0f});
  // Only group 1 (e2, e3) survives, although e5 beats e3 globally.
  EXPECT_EQ(r.idx, (std::vector<int32_t>{2, 3}));
}

TEST(Routing, NoauxTcBiasSelectsButDoesNotWeight) {
  ModelConfig c;
  c.arch = Arch::DeepseekV3;
  c.n_routed_experts = 8;
  c.top_k = 2;
  c.n_group = 4;
  c.topk_group = 2;
  c.scoring_func = ScoringFunc::Sigmoid;
  c.topk_method = TopkMethod::NoauxTc;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  std::vector<float> logits = {2.0f, 1.9f, 0.0f, 0.0f, 0.5f, 0.4f, -3.0f, 3.0f};
  // Bias pushes expert 3 up and expert 0 down. Choice = sigmoid + bias; groups score by their top-2 sum.
  std::vector<float> bias = {-1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f};
  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  // Group scores (sum of top-2 choices): g0 = 0.870 - 0.119 = 0.751, g1 = 0.5 + 1.5 = 2.0,
  // g2 = 0.622 + 0.599 = 1.221, g3 = 0.047 + 0.953 = 1.0 → groups 1 and 2 are kept.
  Routed r = route(c, logits, bias);
  // Among experts 2..5 the choices are 0.5, 1.5, 0.622, 0.599 → experts 3 and 4; expert 7 (0.953) and
  // expert 1 (0.870) would win globally but their groups were dropped.
  EXPECT_EQ(r.idx, (std::vector<int32_t>{3, 4}));
  double w3 = sig(0.0), w4 = sig(0.5);  // weights from the unbiased scores
  EXPECT_NEAR(r.weight[0], 2.5 * w3 / (w3 + w4), 1e-6);
  EXPECT_NEAR(r.weight[1], 2.5 * w4 / (w3 + w4), 1e-6);
}

}  // namespace
}  // namespace whale
