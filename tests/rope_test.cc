// RoPE properties that hold for any correct implementation, plus the frequency formulas on known values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "model/config.h"
#include "model/rope.h"

namespace whale {
namespace {

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

std::vector<float> rotated(const Rope& rope, std::vector<float> v, int64_t pos) {
  rope.apply(v.data(), 1, int64_t(v.size()), pos);
  return v;
}

class RopeLayouts : public ::testing::TestWithParam<RopeLayout> {};

// Rotations preserve length, and <R(p)q, R(p')k> depends only on p - p' (attention sees relative positions).
TEST_P(RopeLayouts, PreservesNormAndIsRelative) {
  RopeConfig cfg;
  const Rope rope(cfg, 16, GetParam());
  std::mt19937 rng(3);
  std::normal_distribution<float> n;
  std::vector<float> q(16), k(16);
  for (auto& v : q) v = n(rng);
  for (auto& v : k) v = n(rng);
  EXPECT_NEAR(dot(rotated(rope, q, 37), rotated(rope, q, 37)), dot(q, q), 1e-4);
  double a = dot(rotated(rope, q, 10), rotated(rope, k, 3));
  double b = dot(rotated(rope, q, 107), rotated(rope, k, 100));
  EXPECT_NEAR(a, b, 1e-3);
  EXPECT_EQ(rotated(rope, q, 0), q);  // position 0 is the identity
}

INSTANTIATE_TEST_SUITE_P(Layouts, RopeLayouts, ::testing::Values(RopeLayout::Interleaved, RopeLayout::NeoX));

TEST(Rope, InterleavedRotatesAdjacentPairsNeoXRotatesHalves) {
  RopeConfig cfg;
  cfg.theta = 10000;
  const Rope inter(cfg, 4, RopeLayout::Interleaved), neox(cfg, 4, RopeLayout::NeoX);
  // Pair 0 has frequency 1: at position 1 it rotates by 1 radian.
  std::vector<float> v = {1, 0, 0, 0};
  std::vector<float> a = rotated(inter, v, 1), b = rotated(neox, v, 1);
  EXPECT_NEAR(a[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(a[1], std::sin(1.0), 1e-6);  // partner of dim 0 is dim 1
  EXPECT_NEAR(b[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(b[2], std::sin(1.0), 1e-6);  // partner of dim 0 is dim 2
}

TEST(Rope, Llama3KeepsHighAndDividesLowFrequencies) {
  RopeConfig cfg;
  cfg.theta = 500000;
  cfg.scaling = RopeScaling::Llama3;
  cfg.factor = 8;
  cfg.low_freq_factor = 1;
  cfg.high_freq_factor = 4;
  cfg.original_max_position = 8192;
  const Rope plain(RopeConfig{.theta = 500000}, 128, RopeLayout::NeoX), scaled(cfg, 128, RopeLayout::NeoX);
  EXPECT_FLOAT_EQ(scaled.inv_freq()[0], plain.inv_freq()[0]);           // wavelength 2π < 2048: kept
  EXPECT_FLOAT_EQ(scaled.inv_freq()[63], plain.inv_freq()[63] / 8.0f);  // wavelength ≫ 8192: ÷ factor
}

TEST(Rope, YarnBlendsBetweenInterpolationAndExtrapolation) {
  RopeConfig cfg;
  cfg.scaling = RopeScaling::Yarn;
  cfg.factor = 40;
  cfg.original_max_position = 4096;
  cfg.mscale = cfg.mscale_all_dim = 0.707;
  const Rope plain(RopeConfig{}, 64, RopeLayout::Interleaved), yarn(cfg, 64, RopeLayout::Interleaved);
  EXPECT_FLOAT_EQ(yarn.inv_freq()[0], plain.inv_freq()[0]);            // fast dims: extrapolated
  EXPECT_FLOAT_EQ(yarn.inv_freq()[31], plain.inv_freq()[31] / 40.0f);  // slow dims: interpolated
  EXPECT_FLOAT_EQ(yarn.attention_factor(), 1.0f);  // mscale == mscale_all_dim: cos/sin unscaled
  EXPECT_NEAR(yarn_mscale(40, 0.707), 0.1 * 0.707 * std::log(40.0) + 1.0, 1e-12);
  EXPECT_EQ(yarn_mscale(1.0, 0.707), 1.0);
}

}  // namespace
}  // namespace whale
