// Learning-rate schedules over optimizer steps 0 … total_steps-1: linear warmup, then constant, cosine
// (to min_lr) or warmup-stable-decay (linear or 1-sqrt decay over the final fraction of the steps).
#pragma once

#include <cstdint>
#include <string>

namespace whale {

enum class ScheduleKind { kConstant, kCosine, kWarmupStableDecay };
enum class DecayShape { kLinear, kOneMinusSqrt };

ScheduleKind parse_schedule_kind(const std::string& text, const std::string& what);  // "cosine"|"wsd"|"constant"
DecayShape parse_decay_shape(const std::string& text, const std::string& what);      // "linear"|"1-sqrt"
const char* schedule_kind_name(ScheduleKind kind);  // inverse of parse_schedule_kind
const char* decay_shape_name(DecayShape shape);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kCosine;
  double lr = 3e-4;
  double min_lr = 3e-5;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double decay_fraction = 0.2;  // wsd: share of total_steps spent decaying
  DecayShape decay_shape = DecayShape::kLinear;
};

class LrSchedule {
 public:
  explicit LrSchedule(ScheduleConfig config);  // throws whale::Error on inconsistent values

  // Learning rate for optimizer step `step` (0-based):
  //   warmup  step < W:  lr·(step+1)/W, so step W-1 runs at lr;
  //   decay   from step S (cosine: S = W; wsd: S = total - round(decay_fraction·total), at least W) with
  //           progress p = (step-S+1)/(total-S), so the last step (total-1) runs at min_lr;
  //   cosine: min + (lr-min)·(1+cos πp)/2;  wsd linear: lr - (lr-min)·p;  wsd 1-sqrt: min + (lr-min)·(1-√p);
  //   past the end: min_lr (constant: lr).
  double lr_at(int64_t step) const;

  int64_t decay_start() const { return decay_start_; }
  const ScheduleConfig& config() const { return config_; }

 private:
  ScheduleConfig config_;
  int64_t decay_start_ = 0;
};

}  // namespace whale
