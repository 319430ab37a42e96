// Learning-rate schedules at their boundaries: warmup end, decay start, last step, past the end.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "train/schedule.h"

namespace whale {
namespace {

TEST(LrSchedule, WarmupThenCosine) {
  const LrSchedule s({.kind = ScheduleKind::kCosine, .lr = 1.0, .min_lr = 0.1, .warmup_steps = 10,
                      .total_steps = 110});
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(4), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(9), 1.0);                                  // warmup ends at full lr
  EXPECT_NEAR(s.lr_at(10), 0.1 + 0.45 * (1 + std::cos(M_PI / 100)), 1e-12);
  EXPECT_NEAR(s.lr_at(59), 0.55, 1e-12);                              // halfway: (lr + min) / 2
  EXPECT_NEAR(s.lr_at(109), 0.1, 1e-12);                              // last step at min_lr
  EXPECT_DOUBLE_EQ(s.lr_at(500), 0.1);
  for (int64_t t = 10; t < 110; ++t) EXPECT_LE(s.lr_at(t), s.lr_at(t - 1) + 1e-15);
}

TEST(LrSchedule, WarmupStableDecayLinearAndSqrt) {
  ScheduleConfig c{.kind = ScheduleKind::kWarmupStableDecay, .lr = 2.0, .min_lr = 0.0, .warmup_steps = 5,
                   .total_steps = 100, .decay_fraction = 0.2};
  const LrSchedule lin(c);
  EXPECT_EQ(lin.decay_start(), 80);
  EXPECT_DOUBLE_EQ(lin.lr_at(4), 2.0);
  EXPECT_DOUBLE_EQ(lin.lr_at(79), 2.0);  // stable phase
  EXPECT_DOUBLE_EQ(lin.lr_at(80), 2.0 - 2.0 / 20);
  EXPECT_DOUBLE_EQ(lin.lr_at(89), 1.0);
  EXPECT_DOUBLE_EQ(lin.lr_at(99), 0.0);
  c.decay_shape = DecayShape::kOneMinusSqrt;
  const LrSchedule sq(c);
  EXPECT_DOUBLE_EQ(sq.lr_at(79), 2.0);
  EXPECT_NEAR(sq.lr_at(84), 2.0 * (1 - std::sqrt(0.25)), 1e-12);
  EXPECT_DOUBLE_EQ(sq.lr_at(99), 0.0);
  // Decay never starts inside the warmup.
  c.decay_fraction = 1.0;
  EXPECT_EQ(LrSchedule(c).decay_start(), 5);
}

TEST(LrSchedule, ConstantAndNoWarmup) {
  const LrSchedule s({.kind = ScheduleKind::kConstant, .lr = 0.5, .min_lr = 0.0, .warmup_steps = 0,
                      .total_steps = 10});
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(9), 0.5);
  EXPECT_DOUBLE_EQ(s.lr_at(1000), 0.5);
  const LrSchedule one({.kind = ScheduleKind::kCosine, .lr = 1.0, .min_lr = 0.25, .warmup_steps = 0,
                        .total_steps = 1});
  EXPECT_DOUBLE_EQ(one.lr_at(0), 0.25);
}

TEST(LrSchedule, RejectsInconsistentConfig) {
  EXPECT_THROW(LrSchedule({.lr = 0.0}), Error);
  EXPECT_THROW(LrSchedule({.lr = 1.0, .min_lr = 2.0}), Error);
  EXPECT_THROW(LrSchedule({.warmup_steps = 20, .total_steps = 10}), Error);
  EXPECT_THROW(LrSchedule({.total_steps = 0}), Error);
  EXPECT_THROW(LrSchedule({.decay_fraction = 0.0}), Error);
  EXPECT_THROW(parse_schedule_kind("cosin", "optim.schedule"), Error);
  EXPECT_EQ(parse_schedule_kind("wsd", "x"), ScheduleKind::kWarmupStableDecay);
  EXPECT_EQ(parse_decay_shape("1-sqrt", "x"), DecayShape::kOneMinusSqrt);
}

}  // namespace
}  // namespace whale
