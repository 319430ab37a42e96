// GRPO math: advantages and loss against the PyTorch fixture (current log-probs from the tiny checkpoint's
// forward), hand-computed clipping / KL / aggregation cases, and a finite-difference check of d loss / d logp.
#include "rl/grpo_loss.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "model/model.h"

namespace whale::rl {
namespace {

const std::string kFixtures = WHALE_FIXTURES_DIR;

using testing::error_of;

class GrpoFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    file_ = SafetensorsFile::open(kFixtures + "/grpo/grpo-deepseek-v3-tiny.safetensors");
  }
  static void TearDownTestSuite() {
    file_.reset();
  }
  std::vector<float> f32(const std::string& name) const { return file_->get(name).f32_values(); }
  std::vector<int64_t> i64(const std::string& name) const {
    Tensor t = file_->get(name);
    return {t.data<int64_t>(), t.data<int64_t>() + t.numel()};
  }
  static std::shared_ptr<SafetensorsFile> file_;
};
std::shared_ptr<SafetensorsFile> GrpoFixture::file_;

TEST_F(GrpoFixture, AdvantagesMatchReference) {
  const std::vector<float> rewards = f32("rewards");
  const std::vector<int64_t> group = i64("group");
  const Advantages grpo = group_advantages(rewards, group, {.scale_by_std = true, .eps = 1e-4});
  const Advantages dr = group_advantages(rewards, group, {.scale_by_std = false});
  const std::vector<float> want_grpo = f32("advantages.grpo"), want_dr = f32("advantages.dr_grpo"),
                           want_dapo = f32("advantages.dapo");
  ASSERT_EQ(grpo.values.size(), want_grpo.size());
  for (size_t i = 0; i < want_grpo.size(); ++i) {
    EXPECT_NEAR(grpo.values[i], want_grpo[i], 1e-6f * (1 + std::fabs(want_grpo[i]))) << i;
    EXPECT_NEAR(grpo.values[i], want_dapo[i], 1e-6f * (1 + std::fabs(want_dapo[i]))) << i;
    EXPECT_NEAR(dr.values[i], want_dr[i], 1e-6f) << i;
  }
  EXPECT_EQ(grpo.n_groups, 3);
  EXPECT_EQ(grpo.n_all_equal, 1);  // group 2 (README)
  for (size_t i = 0; i < group.size(); ++i) EXPECT_EQ(grpo.all_equal_sample[i], group[i] == 2) << i;
}

// Current log-probs from the checkpoint, then each variant's loss and clip fraction.
TEST_F(GrpoFixture, LossMatchesReferenceWithModelLogProbs) {
  ThreadPool pool(2);
  auto model = Model::load(kFixtures + "/models/deepseek-v3-tiny", pool);
  const std::vector<int64_t> ids64 = i64("input_ids");
  const std::vector<int32_t> ids(ids64.begin(), ids64.end());
  const int64_t N = 12, T = 20, V = model->config().vocab_size;
  ASSERT_EQ(int64_t(ids.size()), N * T);
  std::vector<float> logits;  // [N*T, V]
  model->forward_full(ids, N, T, {.mla_absorbed = false}, logits);
  std::vector<float> logp(size_t(N * T), 0.0f);  // [N, T]: log_softmax(logits[t−1])[ids[t]]
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = 1; t < T; ++t) {
      const float* row = &logits[size_t((i * T + t - 1) * V)];
      double mx = row[0];
      for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
      double z = 0;
      for (int64_t v = 0; v < V; ++v) z += std::exp(row[v] - mx);
      logp[size_t(i * T + t)] = float(row[ids[size_t(i * T + t)]] - mx - std::log(z));
    }
  const std::vector<float> old_logp = f32("old_logprobs"), ref_logp = f32("ref_logprobs"),
                           mask = f32("completion_mask");
  const auto variants = nlohmann::json::parse(file_->metadata().at("variants"));
  for (const std::string name : {"grpo", "dr_grpo", "dapo"}) {
    const nlohmann::json& v = variants.at(name);
    const std::vector<float> adv = f32("advantages." + name);
    const GrpoLossConfig config{
        .eps_low = v.at("eps_low").get<float>(),
        .eps_high = v.at("eps_high").get<float>(),
        .beta = v.at("beta").get<float>(),
        .aggregation = name == "grpo" ? Aggregation::kSeqMean
                       : name == "dapo" ? Aggregation::kTokenMean
                                        : Aggregation::kConstant,
        .constant_norm = 16};  // README: Σ ℓ / (12 × 16)
    const GrpoLossResult r = grpo_loss({.n_seq = N, .n_pos = T, .logp = logp, .old_logp = old_logp,
                                        .ref_logp = ref_logp, .mask = mask, .advantages = adv},
                                       config);
    const double want = f32("loss." + name)[0];
    std::printf("[%s] loss %.8f reference %.8f; clip fraction %.6f reference %.6f\n", name.c_str(), r.loss,
                want, r.stats.clip_fraction, v.at("clip_fraction").get<double>());
    EXPECT_NEAR(r.loss, want, 1e-5 + 1e-4 * std::fabs(want)) << name;
    EXPECT_NEAR(r.loss, v.at("loss").get<double>(), 1e-5 + 1e-4 * std::fabs(want)) << name;
    EXPECT_NEAR(r.stats.clip_fraction, v.at("clip_fraction").get<double>(), 1e-9) << name;
    EXPECT_EQ(r.stats.n_tokens, 121);
  }
}

// Hand-computed: 2 sequences × 2 tokens, ε = 0.2, β = 0.
//   seq 0, A = +1: token 0 ρ = 1.5 (clipped high: pg = −1.2, no gradient), token 1 ρ = 1 (pg = −1, grad −1)
//   seq 1, A = −1: token 0 ρ = 0.5 (clipped low: pg = 0.8, no gradient), token 1 masked out
struct HandCase {
  std::vector<float> old_logp = {0, 0, 0, 0};
  std::vector<float> logp = {std::log(1.5f), 0, std::log(0.5f), 7};
  std::vector<float> mask = {1, 1, 1, 0};
  std::vector<float> adv = {1, -1};
  GrpoLossResult run(Aggregation aggregation, float constant_norm = 0) const {
    return grpo_loss({.n_seq = 2, .n_pos = 2, .logp = logp, .old_logp = old_logp, .mask = mask, .advantages = adv},
                     {.beta = 0, .aggregation = aggregation, .constant_norm = constant_norm});
  }
};

TEST(GrpoLoss, ClipsBothSidesAndAggregatesEachWay) {
  const HandCase c;
  const GrpoLossResult seq = c.run(Aggregation::kSeqMean);
  EXPECT_NEAR(seq.loss, ((-1.2 - 1.0) / 2 + 0.8 / 1) / 2, 1e-6);  // −0.15
  EXPECT_NEAR(seq.grad_logp[1], -1.0 / (2 * 2), 1e-7);
  for (size_t k : {0, 2, 3}) EXPECT_EQ(seq.grad_logp[k], 0.0f) << k;
  EXPECT_NEAR(seq.stats.clip_fraction_high, 1.0 / 3, 1e-12);
  EXPECT_NEAR(seq.stats.clip_fraction_low, 1.0 / 3, 1e-12);
  EXPECT_NEAR(seq.stats.clip_fraction, 2.0 / 3, 1e-12);
  EXPECT_NEAR(seq.stats.mean_ratio, (1.5 + 1.0 + 0.5) / 3, 1e-6);
  EXPECT_EQ(seq.stats.n_tokens, 3);

  const GrpoLossResult tok = c.run(Aggregation::kTokenMean);
  EXPECT_NEAR(tok.loss, (-1.2 - 1.0 + 0.8) / 3, 1e-6);
  EXPECT_NEAR(tok.grad_logp[1], -1.0 / 3, 1e-7);

  const GrpoLossResult con = c.run(Aggregation::kConstant, 4);
  EXPECT_NEAR(con.loss, (-1.2 - 1.0 + 0.8) / (2 * 4), 1e-6);
  EXPECT_NEAR(con.grad_logp[1], -1.0 / 8, 1e-7);
}

// The clip only removes the gradient on the side that would push the ratio further: A > 0 with ρ < 1 − ε
// and A < 0 with ρ > 1 + ε keep the unclipped term (pessimistic bound).
TEST(GrpoLoss, KeepsGradientOnTheUnclippedSide) {
  const std::vector<float> old_logp = {0, 0}, logp = {std::log(0.5f), std::log(1.5f)}, mask = {1, 1};
  const std::vector<float> adv = {1, -1};
  const GrpoLossResult r = grpo_loss(
      {.n_seq = 2, .n_pos = 1, .logp = logp, .old_logp = old_logp, .mask = mask, .advantages = adv},
      {.beta = 0, .aggregation = Aggregation::kTokenMean});
  EXPECT_NEAR(r.loss, (-0.5 + 1.5) / 2, 1e-6);         // −min(0.5, 0.8) and −min(−1.5, −1.2)
  EXPECT_NEAR(r.grad_logp[0], -0.5 / 2, 1e-6);         // −A·ρ / n_tokens
  EXPECT_NEAR(r.grad_logp[1], 1.5 / 2, 1e-6);
  EXPECT_EQ(r.stats.clip_fraction, 1.0);  // both ratios lie outside the range...
  EXPECT_EQ(r.stats.clip_fraction_low + r.stats.clip_fraction_high, 0.0);  // ...but neither gradient is removed
}

// Separate ε_high (DAPO clip-higher): ρ = 1.25 is clipped at ε_high = 0.2 but not at 0.28.
TEST(GrpoLoss, ClipHigherUsesEpsHigh) {
  const std::vector<float> old_logp = {0}, logp = {std::log(1.25f)}, mask = {1}, adv = {2};
  auto run = [&](float eps_high) {
    return grpo_loss({.n_seq = 1, .n_pos = 1, .logp = logp, .old_logp = old_logp, .mask = mask, .advantages = adv},
                     {.eps_high = eps_high, .beta = 0, .aggregation = Aggregation::kTokenMean});
  };
  EXPECT_NEAR(run(0.2f).loss, -1.2 * 2, 1e-6);
  EXPECT_EQ(run(0.2f).grad_logp[0], 0.0f);
  EXPECT_NEAR(run(0.28f).loss, -1.25 * 2, 1e-6);
  EXPECT_NEAR(run(0.28f).grad_logp[0], -1.25 * 2, 1e-6);
}

// k3 with ref − logp = log 2: kl = 2 − log 2 − 1, d kl / d logp = 1 − 2 = −1.
TEST(GrpoLoss, K3KlTerm) {
  const std::vector<float> logp = {-1.0f}, old_logp = {-1.0f}, ref = {-1.0f + std::log(2.0f)}, mask = {1};
  const std::vector<float> adv = {0};
  const GrpoLossResult r = grpo_loss(
      {.n_seq = 1, .n_pos = 1, .logp = logp, .old_logp = old_logp, .ref_logp = ref, .mask = mask, .advantages = adv},
      {.beta = 0.5f, .aggregation = Aggregation::kSeqMean});
  const double kl = 2.0 - std::log(2.0) - 1.0;
  EXPECT_NEAR(r.stats.mean_kl, kl, 1e-6);
  EXPECT_NEAR(r.loss, 0.5 * kl, 1e-6);
  EXPECT_NEAR(r.stats.kl_loss, 0.5 * kl, 1e-6);
  EXPECT_NEAR(r.grad_logp[0], -0.5, 1e-6);
  // Equal policies: KL and its gradient vanish.
  const GrpoLossResult same = grpo_loss(
      {.n_seq = 1, .n_pos = 1, .logp = logp, .old_logp = old_logp, .ref_logp = logp, .mask = mask, .advantages = adv},
      {.beta = 0.5f});
  EXPECT_EQ(same.loss, 0.0);
  EXPECT_EQ(same.grad_logp[0], 0.0f);
}

// d loss / d logp against central differences of the loss (in double through f32 inputs), all aggregations,
// with β > 0, ratios spread across both clip boundaries, a ragged mask and mixed-sign advantages.
TEST(GrpoLoss, GradientMatchesFiniteDifferences) {
  const int64_t N = 4, T = 6;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> logp(N * T), old_logp(N * T), ref(N * T), mask(N * T, 0.0f);
  for (int64_t k = 0; k < N * T; ++k) {
    old_logp[k] = -2.0f + u(rng);
    ref[k] = -2.0f + u(rng);
    // ratios in [e^−0.5, e^0.5]; keep clear of the kinks at 0.8 / 1.2 so the loss is smooth nearby
    float d = 0.5f * u(rng);
    for (float kink : {std::log(0.8f), std::log(1.2f)})
      if (std::fabs(d - kink) < 0.02f) d += 0.05f;
    logp[k] = old_logp[k] + d;
  }
  const int64_t lengths[N] = {6, 3, 1, 4};
  for (int64_t i = 0; i < N; ++i)
    for (int64_t t = T - lengths[i]; t < T; ++t) mask[i * T + t] = 1;
  const std::vector<float> adv = {1.3f, -0.7f, 0.4f, -1.1f};
  for (Aggregation agg : {Aggregation::kSeqMean, Aggregation::kTokenMean, Aggregation::kConstant}) {
    const GrpoLossConfig config{.eps_low = 0.2f, .eps_high = 0.28f, .beta = 0.1f, .aggregation = agg,
                                .constant_norm = 8};
    auto loss_at = [&](const std::vector<float>& lp) {
      return grpo_loss({.n_seq = N, .n_pos = T, .logp = lp, .old_logp = old_logp, .ref_logp = ref, .mask = mask,
                        .advantages = adv},
                       config);
    };
    const GrpoLossResult r = loss_at(logp);
    EXPECT_GT(r.stats.clip_fraction, 0.0);  // the check covers clipped tokens too
    for (int64_t k = 0; k < N * T; ++k) {
      const float h = 1e-3f;
      std::vector<float> plus = logp, minus = logp;
      plus[k] += h;
      minus[k] -= h;
      const double numeric = (loss_at(plus).loss - loss_at(minus).loss) / (double(plus[k]) - double(minus[k]));
      EXPECT_NEAR(r.grad_logp[k], numeric, 2e-5 + 1e-3 * std::fabs(numeric)) << "token " << k << " agg "
                                                                             << int(agg);
    }
  }
}

TEST(GrpoLoss, RejectsBadInput) {
  const std::vector<float> two = {0, 0}, one = {0};
  EXPECT_NE(error_of([&] {
              grpo_loss({.n_seq = 1, .n_pos = 2, .logp = two, .old_logp = one, .mask = two, .advantages = one}, {.beta = 0});
            }).find("'old_logp' has 1 values, expected 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              grpo_loss({.n_seq = 1, .n_pos = 2, .logp = two, .old_logp = two, .mask = two, .advantages = one}, {});
            }).find("'ref_logp'"),
            std::string::npos);  // β > 0 needs the reference
  EXPECT_NE(error_of([&] {
              grpo_loss({.n_seq = 1, .n_pos = 2, .logp = two, .old_logp = two, .mask = two, .advantages = one},
                        {.beta = 0, .aggregation = Aggregation::kConstant});
            }).find("constant_norm"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              grpo_loss({.n_seq = 1, .n_pos = 2, .logp = two, .old_logp = two, .mask = two, .advantages = one},
                        {.eps_low = -0.1f, .beta = 0});
            }).find("eps_low"),
            std::string::npos);
  const std::vector<int64_t> groups = {0};
  EXPECT_NE(error_of([&] { group_advantages(two, groups); }).find("2 rewards but 1 group ids"), std::string::npos);
}

TEST(GroupAdvantages, HandComputedAndAllEqualGroups) {
  // group 7: rewards 1, 0, 0, 1 → mean 0.5, unbiased std = sqrt(1/3); group 3: all 1; group 9: one sample.
  const std::vector<float> rewards = {1, 1, 0, 1, 0, 1, 0.5f};
  const std::vector<int64_t> group = {7, 3, 7, 3, 7, 7, 9};
  const Advantages a = group_advantages(rewards, group, {.eps = 0});
  const double z = 0.5 / std::sqrt(1.0 / 3.0);
  EXPECT_NEAR(a.values[0], z, 1e-6);
  EXPECT_NEAR(a.values[2], -z, 1e-6);
  EXPECT_NEAR(a.values[4], -z, 1e-6);
  EXPECT_NEAR(a.values[5], z, 1e-6);
  EXPECT_EQ(a.values[1], 0.0f);
  EXPECT_EQ(a.values[6], 0.0f);
  EXPECT_EQ(a.n_groups, 3);
  EXPECT_EQ(a.n_all_equal, 2);
  const Advantages dr = group_advantages(rewards, group, {.scale_by_std = false});
  EXPECT_NEAR(dr.values[0], 0.5, 1e-7);
  EXPECT_NEAR(dr.values[2], -0.5, 1e-7);
}

}  // namespace
}  // namespace whale::rl
