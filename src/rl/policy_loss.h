// The GRPO objective on a model: per-token log-probs of sampled completions from the training forward
// pass (autograd), fed through grpo_loss (rl/grpo_loss.h) whose gradient w.r.t. the log-probs flows back
// into the parameters.
// Shape legend: N = sequences in the micro-batch, T = padded length; position t predicts token t + 1.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "rl/grpo_loss.h"
#include "train/transformer.h"

namespace whale::rl {

struct PolicyBatch {
  int64_t n_seq = 0, n_pos = 0;  // N, T
  std::vector<int32_t> ids;      // [N, T] prompt + completion, right-padded with 0
  std::vector<int32_t> targets;  // [N, T] ids[t + 1] where that token is a completion token, else −1
  std::vector<float> mask;       // [N, T] 1 where targets[t] ≥ 0
};

// From sequences and a token-aligned completion mask ([N, T], 1 where token t is a completion token).
PolicyBatch policy_batch(std::span<const int32_t> ids, std::span<const float> token_mask, int64_t n_seq,
                         int64_t n_pos);
// From prompts and completions (any lengths): sequence i is prompt[i] + completion[i].
PolicyBatch policy_batch(std::span<const std::vector<int32_t>* const> prompts,
                         std::span<const std::vector<int32_t>* const> completions);

// Token-aligned [N, T] values (index t for token t) → position-aligned (index t − 1), as PolicyBatch uses.
std::vector<float> to_positions(std::span<const float> token_aligned, int64_t n_seq, int64_t n_pos);

// Log-probs of the targets ([N, T], 0 where there is none), without building gradients.
std::vector<float> target_logprobs(Transformer& model, ThreadPool& pool, const PolicyBatch& batch);

struct PolicyLoss {
  GrpoLossResult grpo;       // the micro-batch's loss and statistics (before `weight`)
  std::vector<float> logp;   // [N, T] current log-probs
  double entropy_sum = 0;    // Σ over masked positions of the policy's entropy (nats)
};

// Forward, GRPO loss, and (when weight > 0) backward of weight × loss into the parameters' grads.
// old_logp empty: the current log-probs are the sampling policy's (first update on fresh rollouts, ρ = 1).
// ref_logp may be empty when config.beta is 0. All arrays are position-aligned [N, T]; advantages [N].
PolicyLoss policy_loss(Transformer& model, ThreadPool& pool, const PolicyBatch& batch,
                       std::span<const float> old_logp, std::span<const float> ref_logp,
                       std::span<const float> advantages, const GrpoLossConfig& config, float weight);

}  // namespace whale::rl
