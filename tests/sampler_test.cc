// Sampler: greedy ties, seeded reproducibility, and the sampled distribution against its definition
// computed here by sorting the whole vocabulary in double (the sampler itself never sorts it). The draws use
// fixed seeds, so the statistical bounds (5 standard deviations) cannot flake.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "engine/sampler.h"

namespace whale {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, 0.5f, 3.0f};

// The distribution by its definition: tokens by logit (ties: lower id first), the first top_k, softmax / T,
// the shortest prefix whose probability reaches top_p, then tokens with p >= min_p · p_max.
std::vector<double> reference(const std::vector<float>& logits, const SamplingParams& params) {
  const size_t n = logits.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return logits[a] > logits[b]; });
  const size_t keep = params.top_k > 0 ? std::min(n, size_t(params.top_k)) : n;
  std::vector<double> e(keep);  // [keep] p / p_max
  double z = 0;
  for (size_t j = 0; j < keep; ++j)
    z += e[j] = std::exp((double(logits[order[j]]) - logits[order[0]]) / params.temperature);
  size_t cut = keep;
  double mass = 0;
  for (size_t j = 0; j < keep && params.top_p < 1.0f; ++j)
    if ((mass += e[j] / z) >= params.top_p) {
      cut = j + 1;
      break;
    }
  while (cut > 1 && e[cut - 1] < params.min_p) --cut;
  std::vector<double> p(n, 0.0);
  double kept = 0;
  for (size_t j = 0; j < cut; ++j) kept += e[j];
  for (size_t j = 0; j < cut; ++j) p[order[j]] = e[j] / kept;
  return p;
}

// Draws n tokens and checks them against reference(): excluded tokens never come, likely ones do, and the
// frequency of every token and of every group of equal logits is within 5 standard deviations.
void expect_distribution(const std::vector<float>& logits, const SamplingParams& params, int n) {
  const std::vector<double> p = reference(logits, params);
  Sampler sampler(params);
  std::vector<int64_t> counts(logits.size());
  for (int i = 0; i < n; ++i) counts[size_t(sampler.sample(logits.data(), int64_t(logits.size())))]++;
  auto near = [&](double count, double prob) {
    return std::abs(count / n - prob) <= 5 * std::sqrt(std::max(0.0, prob * (1 - prob)) / n) + 1e-12;
  };
  std::map<float, std::pair<double, double>> groups;  // logit -> (count, probability)
  for (size_t id = 0; id < logits.size(); ++id) {
    if (p[id] == 0) {
      ASSERT_EQ(counts[id], 0) << "excluded token " << id;
    } else if (p[id] * n >= 20) {
      ASSERT_GT(counts[id], 0) << "kept token " << id << " never drawn";
    }
    EXPECT_TRUE(near(double(counts[id]), p[id])) << "token " << id << ": " << counts[id] << " of " << n
                                                 << ", p " << p[id];
    groups[logits[id]].first += double(counts[id]);
    groups[logits[id]].second += p[id];
  }
  for (const auto& [logit, g] : groups)
    EXPECT_TRUE(near(g.first, g.second)) << "logit " << logit << ": " << g.first << " of " << n << ", p " << g.second;
}

TEST(Sampler, GreedyIsFirstArgmax) {
  Sampler s({.temperature = 0.0f});
  EXPECT_EQ(s.sample(kLogits.data(), 5), 1);  // ties → lowest id, as torch.argmax
  std::vector<float> many(1000, -2.0f);
  many[613] = many[977] = 5.0f;
  EXPECT_EQ(s.sample(many.data(), 1000), 613);
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
  for (SamplingParams params : {SamplingParams{.temperature = 1.0f}, SamplingParams{.temperature = 1.0f, .top_k = 3},
                                SamplingParams{.temperature = 1.0f, .top_p = 0.9f}}) {
    params.seed = 42;
    Sampler a(params), b(params);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(kLogits.data(), 5), b.sample(kLogits.data(), 5));
  }
}

// Ties at the top-k and top-p boundaries (ids 2, 6, 8 share a logit), a -inf logit, k beyond the vocabulary.
TEST(Sampler, DistributionOfEachSettingOnASmallVocabulary) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 0.5f, 3.0f, -1.0f, 2.0f, -inf, 2.0f, 0.0f};
  const SamplingParams settings[] = {
      {.temperature = 0.7f},
      {.temperature = 1.0f, .top_k = 3},                   // 1, 4, then 2 of the tied 2, 6, 8
      {.temperature = 1.0f, .top_p = 0.8f},                // mass 0.807 at 1, 4, 2, 6
      {.temperature = 1.0f, .top_k = 5, .top_p = 0.85f},   // within the 5: 0.88 at 1, 4, 2, 6
      {.temperature = 1.0f, .min_p = 0.3f},                // the 3s and the 2s (e^-1 = 0.37)
      {.temperature = 2.0f, .top_p = 0.7f, .min_p = 0.5f},
      {.temperature = 1.5f, .top_k = 4, .min_p = 0.6f},    // e^(-1/1.5) = 0.51: the 3s only
      {.temperature = 0.5f, .top_k = 20},
  };
  uint64_t seed = 1;
  for (SamplingParams params : settings) {
    params.seed = seed++;
    SCOPED_TRACE(::testing::Message() << "T " << params.temperature << " top_k " << params.top_k << " top_p "
                                      << params.top_p << " min_p " << params.min_p);
    expect_distribution(logits, params, 200000);
  }
}

// 1000 tokens: 50 logit levels interleaved over the ids with small distinct offsets (ties, and cuts inside
// a level); all equal (ties only: the cut goes by id); one dominant token.
TEST(Sampler, DistributionOnALargerVocabularyWithTies) {
  const int64_t vocab = 1000;
  std::vector<float> levels(vocab), equal(vocab, 0.0f), dominant(vocab, 0.0f);
  for (int64_t i = 0; i < vocab; ++i) levels[size_t(i)] = 0.02f * float((i * 7919) % 50) + 1e-5f * float(i % 3);
  dominant[123] = 10.0f;
  struct Case {
    const std::vector<float>* logits;
    SamplingParams params;
  };
  const Case cases[] = {
      {&levels, {.temperature = 1.0f}},
      {&levels, {.temperature = 1.0f, .top_p = 0.3f}},
      {&levels, {.temperature = 0.05f, .top_p = 0.9f}},
      {&levels, {.temperature = 1.0f, .top_k = 250}},
      {&levels, {.temperature = 0.1f, .top_k = 300, .top_p = 0.5f}},
      {&levels, {.temperature = 0.1f, .min_p = 0.2f}},
      {&equal, {.temperature = 1.0f, .top_p = 0.2501f}},  // ids 0..250
      {&equal, {.temperature = 1.0f, .top_k = 100}},      // ids 0..99
      {&dominant, {.temperature = 1.0f, .top_p = 0.98f}}, // 123, then ids 0..538 of the rest
  };
  uint64_t seed = 11;
  for (Case c : cases) {
    c.params.seed = seed++;
    SCOPED_TRACE(::testing::Message() << "case " << seed - 12);
    expect_distribution(*c.logits, c.params, 50000);
  }
}

TEST(Sampler, RejectsBadParameters) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .min_p = 2.0f}), Error);
  EXPECT_THROW(Sampler({.top_k = -3}), Error);
}

}  // namespace
}  // namespace whale
