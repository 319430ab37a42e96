#include "train/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace whale {

ScheduleKind parse_schedule_kind(const std::string& text, const std::string& what) {
  if (text == "cosine") return ScheduleKind::kCosine;
  if (text == "wsd") return ScheduleKind::kWarmupStableDecay;
  if (text == "constant") return ScheduleKind::kConstant;
  fail("{}: unknown schedule '{}' (expected \"cosine\", \"wsd\" or \"constant\")", what, text);
}

DecayShape parse_decay_shape(const std::string& text, const std::string& what) {
  if (text == "linear") return DecayShape::kLinear;
  if (text == "1-sqrt") return DecayShape::kOneMinusSqrt;
  fail("{}: unknown decay shape '{}' (expected \"linear\" or \"1-sqrt\")", what, text);
}

const char* schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kCosine: return "cosine";
    case ScheduleKind::kWarmupStableDecay: return "wsd";
    case ScheduleKind::kConstant: return "constant";
  }
  return "?";
}

const char* decay_shape_name(DecayShape shape) { return shape == DecayShape::kLinear ? "linear" : "1-sqrt"; }

LrSchedule::LrSchedule(ScheduleConfig c) : config_(c) {
  if (!(c.lr > 0.0) || !std::isfinite(c.lr)) fail("lr schedule: lr must be > 0, got {}", c.lr);
  if (!(c.min_lr >= 0.0 && c.min_lr <= c.lr)) fail("lr schedule: min_lr must be in [0, lr], got {}", c.min_lr);
  if (c.total_steps < 1) fail("lr schedule: total steps must be >= 1, got {}", c.total_steps);
  if (c.warmup_steps < 0 || c.warmup_steps > c.total_steps)
    fail("lr schedule: warmup_steps must be in [0, {}] (the total steps), got {}", c.total_steps, c.warmup_steps);
  if (!(c.decay_fraction > 0.0 && c.decay_fraction <= 1.0))
    fail("lr schedule: decay_fraction must be in (0, 1], got {}", c.decay_fraction);
  switch (c.kind) {
    case ScheduleKind::kConstant: decay_start_ = c.total_steps; break;
    case ScheduleKind::kCosine: decay_start_ = c.warmup_steps; break;
    case ScheduleKind::kWarmupStableDecay: {
      const int64_t decay_steps = std::llround(c.decay_fraction * double(c.total_steps));
      decay_start_ = std::max(c.warmup_steps, c.total_steps - decay_steps);
      break;
    }
  }
}

double LrSchedule::lr_at(int64_t step) const {
  const ScheduleConfig& c = config_;
  if (step < c.warmup_steps) return c.lr * double(step + 1) / double(c.warmup_steps);
  if (c.kind == ScheduleKind::kConstant) return c.lr;
  if (step < decay_start_) return c.lr;
  if (step >= c.total_steps) return c.min_lr;
  const double p = double(step - decay_start_ + 1) / double(c.total_steps - decay_start_);  // (0, 1]
  if (c.kind == ScheduleKind::kCosine)
    return c.min_lr + (c.lr - c.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  if (c.decay_shape == DecayShape::kLinear) return c.lr - (c.lr - c.min_lr) * p;
  return c.min_lr + (c.lr - c.min_lr) * (1.0 - std::sqrt(p));
}

}  // namespace whale
