#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "engine/sampler.h"

namespace whale {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, 0.5f, 3.0f};

TEST(Sampler, GreedyIsFirstArgmax) {
  Sampler s({.temperature = 0.0f});
  EXPECT_EQ(s.sample(kLogits.data(), 5), 1);  // ties → lowest id, as torch.argmax
}

TEST(Sampler, TopKOneIsGreedy) {
  Sampler s({.temperature = 1.5f, .top_k = 1, .seed = 7});
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(kLogits.data(), 5), 1);
}

TEST(Sampler, TinyTopPOrFullMinPKeepOnlyTheBest) {
  Sampler p({.temperature = 1.0f, .top_p = 1e-6f, .seed = 3});
  Sampler m({.temperature = 1.0f, .min_p = 1.0f, .seed = 3});
  std::vector<float> logits = {0.0f, 5.0f, 1.0f};
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(p.sample(logits.data(), 3), 1);
    EXPECT_EQ(m.sample(logits.data(), 3), 1);
  }
}

TEST(Sampler, SeededAndReproducible) {
  Sampler a({.temperature = 1.0f, .seed = 42}), b({.temperature = 1.0f, .seed = 42});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(kLogits.data(), 5), b.sample(kLogits.data(), 5));
}

// Frequencies follow softmax(logits / T): a statistical check with a generous bound (20k draws).
TEST(Sampler, FrequenciesFollowSoftmax) {
  const float T = 0.7f;
  Sampler s({.temperature = T, .seed = 1});
  std::vector<int> counts(5);
  const int n = 20000;
  for (int i = 0; i < n; ++i) counts[size_t(s.sample(kLogits.data(), 5))]++;
  double z = 0;
  for (float l : kLogits) z += std::exp(l / T);
  for (size_t i = 0; i < 5; ++i) {
    double p = std::exp(kLogits[i] / T) / z;
    EXPECT_NEAR(counts[i] / double(n), p, 4 * std::sqrt(p * (1 - p) / n) + 1e-3) << "token " << i;
  }
}

TEST(Sampler, TopPCutsTheTail) {
  // probs ≈ [0.665, 0.245, 0.090]; top_p 0.8 keeps the first two only.
  std::vector<float> logits = {2.0f, 1.0f, 0.0f};
  Sampler s({.temperature = 1.0f, .top_p = 0.8f, .seed = 5});
  for (int i = 0; i < 500; ++i) EXPECT_NE(s.sample(logits.data(), 3), 2);
}

TEST(Sampler, RejectsBadParameters) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .min_p = 2.0f}), Error);
  EXPECT_THROW(Sampler({.top_k = -3}), Error);
}

}  // namespace
}  // namespace whale
