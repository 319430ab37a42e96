// GRPO math on plain arrays (no model): group-relative advantages and the clipped policy-gradient loss with
// a k3 KL penalty, its value, its gradient with respect to the current per-token log-probs, and statistics.
// Shape legend: N = sequences in the batch (prompts × G samples), T = token positions per sequence.
//
// Per token (masked where mask = 0):
//   ρ  = exp(logp − old)                                  importance ratio against the sampling policy
//   pg = −min(ρ·A, clip(ρ, 1 − ε_low, 1 + ε_high)·A)        PPO clipped surrogate (A: the sequence's advantage)
//   kl = exp(ref − logp) − (ref − logp) − 1                 k3 estimator of KL(π ‖ π_ref), always ≥ 0
//   ℓ  = (pg + β·kl)·mask
// Aggregation of ℓ into one number:
//   kSeqMean   mean over sequences of Σ_t ℓ / Σ_t mask     (original GRPO / DeepSeekMath / R1)
//   kTokenMean Σ ℓ / Σ mask                                (DAPO)
//   kConstant  Σ ℓ / (N · constant_norm)                   (Dr. GRPO; constant_norm = max new tokens)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace whale::rl {

struct AdvantageConfig {
  bool scale_by_std = true;  // false: Dr. GRPO (A = r − mean_group)
  double eps = 1e-4;         // A = (r − mean) / (std_unbiased + eps)
};

struct Advantages {
  std::vector<float> values;   // [N]
  int64_t n_groups = 0;
  int64_t n_all_equal = 0;     // groups whose rewards are all equal (advantages 0: no learning signal)
  std::vector<bool> all_equal_sample;  // [N]: sample belongs to an all-equal group (for dynamic sampling)
};

// rewards [N], group [N] (any ids; members of one group need not be adjacent). A group of one sample
// counts as all-equal. Throws whale::Error when the sizes differ.
Advantages group_advantages(std::span<const float> rewards, std::span<const int64_t> group,
                            const AdvantageConfig& config = {});

enum class Aggregation { kSeqMean, kTokenMean, kConstant };

struct GrpoLossConfig {
  float eps_low = 0.2f;
  float eps_high = 0.2f;
  float beta = 0.04f;  // 0: no KL term (ref_logp may then be empty)
  Aggregation aggregation = Aggregation::kSeqMean;
  float constant_norm = 0;  // kConstant only: per-sequence normaliser (> 0), e.g. max new tokens
};

// Views of the batch; every [N, T] array is row-major.
struct GrpoBatch {
  int64_t n_seq = 0, n_pos = 0;        // N, T
  std::span<const float> logp;         // [N, T] current policy log-probs of the taken tokens
  std::span<const float> old_logp;     // [N, T] sampling policy
  std::span<const float> ref_logp;     // [N, T] frozen reference (may be empty when β = 0)
  std::span<const float> mask;         // [N, T] 1 for completion tokens, 0 elsewhere
  std::span<const float> advantages;   // [N]
};

struct GrpoStats {
  double clip_fraction = 0;       // masked tokens with ρ outside [1 − ε_low, 1 + ε_high] (the fixture's definition)
  double clip_fraction_low = 0;   // gradient removed by the clip: A < 0 and ρ < 1 − ε_low
  double clip_fraction_high = 0;  // A > 0 and ρ > 1 + ε_high
  double mean_kl = 0;             // token mean of the k3 estimate over masked tokens (0 without ref_logp)
  double mean_ratio = 0;          // token mean of ρ
  double pg_loss = 0;             // the policy-gradient part of the loss (same aggregation)
  double kl_loss = 0;             // the β·kl part of the loss (same aggregation)
  int64_t n_tokens = 0;           // Σ mask
};

struct GrpoLossResult {
  double loss = 0;
  std::vector<float> grad_logp;   // [N, T] d loss / d logp (0 where the mask is 0)
  GrpoStats stats;
};

// Throws whale::Error on inconsistent sizes or a bad config (negative ε or β, kConstant without a norm).
GrpoLossResult grpo_loss(const GrpoBatch& batch, const GrpoLossConfig& config);

}  // namespace whale::rl
