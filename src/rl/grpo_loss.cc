#include "rl/grpo_loss.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"

namespace whale::rl {

Advantages group_advantages(std::span<const float> rewards, std::span<const int64_t> group,
                            const AdvantageConfig& config) {
  if (rewards.size() != group.size())
    fail("group_advantages: {} rewards but {} group ids", rewards.size(), group.size());
  if (!(config.eps >= 0)) fail("group_advantages: eps must be >= 0 (got {})", config.eps);
  std::map<int64_t, std::vector<size_t>> members;  // group id → sample indices
  for (size_t i = 0; i < group.size(); ++i) members[group[i]].push_back(i);

  Advantages out;
  out.values.assign(rewards.size(), 0.0f);
  out.all_equal_sample.assign(rewards.size(), false);
  out.n_groups = int64_t(members.size());
  for (const auto& [id, idx] : members) {
    const double first = rewards[idx[0]];
    const bool all_equal =
        std::all_of(idx.begin(), idx.end(), [&](size_t i) { return double(rewards[i]) == first; });
    if (all_equal) {  // no signal: advantages stay 0
      ++out.n_all_equal;
      for (size_t i : idx) out.all_equal_sample[i] = true;
      continue;
    }
    double mean = 0;
    for (size_t i : idx) mean += rewards[i];
    mean /= double(idx.size());
    double var = 0;  // unbiased (n − 1), as torch.std
    for (size_t i : idx) var += (rewards[i] - mean) * (rewards[i] - mean);
    var /= double(idx.size() - 1);
    const double scale = config.scale_by_std ? 1.0 / (std::sqrt(var) + config.eps) : 1.0;
    for (size_t i : idx) out.values[i] = float((rewards[i] - mean) * scale);
  }
  return out;
}

namespace {

void check_batch(const GrpoBatch& b, const GrpoLossConfig& c) {
  if (b.n_seq < 0 || b.n_pos < 0) fail("grpo_loss: negative batch shape [{}, {}]", b.n_seq, b.n_pos);
  const size_t n = size_t(b.n_seq * b.n_pos);
  auto expect = [&](std::span<const float> s, size_t size, const char* name) {
    if (s.size() != size) fail("grpo_loss: '{}' has {} values, expected {}", name, s.size(), size);
  };
  expect(b.logp, n, "logp");
  expect(b.old_logp, n, "old_logp");
  expect(b.mask, n, "mask");
  expect(b.advantages, size_t(b.n_seq), "advantages");
  if (c.beta != 0 || !b.ref_logp.empty()) expect(b.ref_logp, n, "ref_logp");
  if (!(c.eps_low >= 0 && c.eps_low < 1)) fail("grpo_loss: eps_low must be in [0, 1) (got {})", c.eps_low);
  if (!(c.eps_high >= 0)) fail("grpo_loss: eps_high must be >= 0 (got {})", c.eps_high);
  if (!(c.beta >= 0)) fail("grpo_loss: beta must be >= 0 (got {})", c.beta);
  if (c.aggregation == Aggregation::kConstant && !(c.constant_norm > 0))
    fail("grpo_loss: constant aggregation needs constant_norm > 0 (got {})", c.constant_norm);
}

// Weight of each token of sequence i in the aggregated loss (the loss is Σ weight · ℓ).
std::vector<double> token_weights(const GrpoBatch& b, const GrpoLossConfig& c) {
  std::vector<double> mask_sum(size_t(b.n_seq), 0.0);  // [N]
  double total = 0;
  for (int64_t i = 0; i < b.n_seq; ++i) {
    for (int64_t t = 0; t < b.n_pos; ++t) mask_sum[size_t(i)] += b.mask[size_t(i * b.n_pos + t)];
    total += mask_sum[size_t(i)];
  }
  std::vector<double> w(size_t(b.n_seq), 0.0);  // [N]
  for (int64_t i = 0; i < b.n_seq; ++i) {
    switch (c.aggregation) {
      case Aggregation::kSeqMean:  // a sequence without completion tokens contributes 0 but still counts
        w[size_t(i)] = mask_sum[size_t(i)] > 0 ? 1.0 / (double(b.n_seq) * mask_sum[size_t(i)]) : 0.0;
        break;
      case Aggregation::kTokenMean:
        w[size_t(i)] = total > 0 ? 1.0 / total : 0.0;
        break;
      case Aggregation::kConstant:
        w[size_t(i)] = 1.0 / (double(b.n_seq) * c.constant_norm);
        break;
    }
  }
  return w;
}

}  // namespace

GrpoLossResult grpo_loss(const GrpoBatch& b, const GrpoLossConfig& c) {
  check_batch(b, c);
  const std::vector<double> weight = token_weights(b, c);  // [N]
  GrpoLossResult out;
  out.grad_logp.assign(b.logp.size(), 0.0f);
  GrpoStats& s = out.stats;
  double n_tokens = 0;
  for (int64_t i = 0; i < b.n_seq; ++i) {
    const double adv = b.advantages[size_t(i)];
    for (int64_t t = 0; t < b.n_pos; ++t) {
      const size_t k = size_t(i * b.n_pos + t);
      const double m = b.mask[k];
      if (m == 0) continue;
      const double logp = b.logp[k];
      const double ratio = std::exp(logp - b.old_logp[k]);
      const double clipped = std::clamp(ratio, 1.0 - c.eps_low, 1.0 + c.eps_high);
      // min(ρA, clip(ρ)A) takes the clipped (constant) branch exactly when the clip removes the gradient.
      const bool clip_low = adv < 0 && ratio < 1.0 - c.eps_low;
      const bool clip_high = adv > 0 && ratio > 1.0 + c.eps_high;
      const double pg = -std::min(ratio * adv, clipped * adv);
      const double d_pg = (clip_low || clip_high) ? 0.0 : -adv * ratio;  // d pg / d logp
      double kl = 0, d_kl = 0;
      if (!b.ref_logp.empty()) {  // KL is reported whenever a reference is given, even with β = 0
        const double diff = b.ref_logp[k] - logp;
        kl = std::exp(diff) - diff - 1.0;
        d_kl = 1.0 - std::exp(diff);
      }
      const double w = weight[size_t(i)] * m;
      s.pg_loss += w * pg;
      s.kl_loss += w * c.beta * kl;
      out.grad_logp[k] = float(w * (d_pg + c.beta * d_kl));
      n_tokens += m;
      s.clip_fraction_low += m * clip_low;
      s.clip_fraction_high += m * clip_high;
      s.clip_fraction += m * (ratio != clipped);
      s.mean_kl += m * kl;
      s.mean_ratio += m * ratio;
    }
  }
  out.loss = s.pg_loss + s.kl_loss;
  s.n_tokens = int64_t(std::llround(n_tokens));
  if (n_tokens > 0) {
    s.clip_fraction_low /= n_tokens;
    s.clip_fraction_high /= n_tokens;
    s.clip_fraction /= n_tokens;
    s.mean_kl /= n_tokens;
    s.mean_ratio /= n_tokens;
  }
  return out;
}

}  // namespace whale::rl
