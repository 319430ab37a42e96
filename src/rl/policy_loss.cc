#include "rl/policy_loss.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/autograd/ops.h"

namespace whale::rl {
namespace {

// Σ over masked rows of the softmax entropy of logits [N·T, V].
double masked_entropy(const float* logits, int64_t vocab, std::span<const float> mask) {
  double total = 0;
  for (size_t r = 0; r < mask.size(); ++r) {
    if (mask[r] == 0) continue;
    const float* z = logits + int64_t(r) * vocab;
    const float mx = *std::max_element(z, z + vocab);
    double sum = 0, weighted = 0;  // Σ e^(z−m), Σ e^(z−m)·(z−m)
    for (int64_t v = 0; v < vocab; ++v) {
      const double e = std::exp(double(z[v] - mx));
      sum += e;
      weighted += e * double(z[v] - mx);
    }
    total += std::log(sum) - weighted / sum;  // H = log Σe^u − Σ p·u with u = z − max
  }
  return total;
}

}  // namespace

PolicyBatch policy_batch(std::span<const int32_t> ids, std::span<const float> token_mask, int64_t n_seq,
                         int64_t n_pos) {
  const size_t n = size_t(n_seq * n_pos);
  if (ids.size() != n || token_mask.size() != n)
    fail("policy batch: ids ({}) and mask ({}) must both hold {} × {} values", ids.size(), token_mask.size(), n_seq,
         n_pos);
  PolicyBatch b{n_seq, n_pos, std::vector<int32_t>(ids.begin(), ids.end()), std::vector<int32_t>(n, -1),
                std::vector<float>(n, 0.0f)};
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = 1; t < n_pos; ++t) {
      const size_t at = size_t(s * n_pos + t);
      if (token_mask[at] == 0) continue;
      b.targets[at - 1] = ids[at];
      b.mask[at - 1] = 1.0f;
    }
  return b;
}

PolicyBatch policy_batch(std::span<const std::vector<int32_t>* const> prompts,
                         std::span<const std::vector<int32_t>* const> completions) {
  if (prompts.size() != completions.size() || prompts.empty())
    fail("policy batch: {} prompts for {} completions", prompts.size(), completions.size());
  const int64_t n_seq = int64_t(prompts.size());
  int64_t n_pos = 1;
  for (size_t i = 0; i < prompts.size(); ++i)
    n_pos = std::max<int64_t>(n_pos, int64_t(prompts[i]->size() + completions[i]->size()));
  std::vector<int32_t> ids(size_t(n_seq * n_pos), 0);
  std::vector<float> token_mask(ids.size(), 0.0f);
  for (size_t i = 0; i < prompts.size(); ++i) {
    int32_t* row = ids.data() + int64_t(i) * n_pos;
    std::copy(prompts[i]->begin(), prompts[i]->end(), row);
    std::copy(completions[i]->begin(), completions[i]->end(), row + prompts[i]->size());
    std::fill_n(token_mask.begin() + int64_t(i) * n_pos + int64_t(prompts[i]->size()), completions[i]->size(), 1.0f);
  }
  return policy_batch(ids, token_mask, n_seq, n_pos);
}

std::vector<float> to_positions(std::span<const float> token_aligned, int64_t n_seq, int64_t n_pos) {
  if (token_aligned.size() != size_t(n_seq * n_pos))
    fail("to_positions: {} values for {} × {}", token_aligned.size(), n_seq, n_pos);
  std::vector<float> out(token_aligned.size(), 0.0f);
  for (int64_t s = 0; s < n_seq; ++s)
    for (int64_t t = 1; t < n_pos; ++t) out[size_t(s * n_pos + t - 1)] = token_aligned[size_t(s * n_pos + t)];
  return out;
}

std::vector<float> target_logprobs(Transformer& model, ThreadPool& pool, const PolicyBatch& batch) {
  ag::Graph g(pool);
  TrainForward f = model.forward(g, batch.ids, batch.n_seq);
  ag::Var lp = ag::token_logprobs(g, f.logits, batch.targets);
  const float* v = g.value(lp);
  return std::vector<float>(v, v + g.numel(lp));
}

PolicyLoss policy_loss(Transformer& model, ThreadPool& pool, const PolicyBatch& batch,
                       std::span<const float> old_logp, std::span<const float> ref_logp,
                       std::span<const float> advantages, const GrpoLossConfig& config, float weight) {
  ag::Graph g(pool);
  TrainForward f = model.forward(g, batch.ids, batch.n_seq);
  ag::Var lp = ag::token_logprobs(g, f.logits, batch.targets);  // [N·T]
  PolicyLoss out;
  const float* current = g.value(lp);
  out.logp.assign(current, current + g.numel(lp));
  out.entropy_sum = masked_entropy(g.value(f.logits), g.dim(f.logits, -1), batch.mask);

  GrpoBatch b{.n_seq = batch.n_seq, .n_pos = batch.n_pos, .logp = out.logp,
              .old_logp = old_logp.empty() ? std::span<const float>(out.logp) : old_logp, .ref_logp = ref_logp,
              .mask = batch.mask, .advantages = advantages};
  out.grpo = grpo_loss(b, config);
  if (weight <= 0) return out;
  // grpo_loss already holds d loss / d logp; the op hands it (scaled) to the tape.
  ag::Var loss = ag::scalar_fn(g, lp, [&](const float*, float* dx) {
    for (size_t i = 0; i < out.grpo.grad_logp.size(); ++i) dx[i] = weight * out.grpo.grad_logp[i];
    return weight * float(out.grpo.loss);
  });
  g.backward(loss);
  return out;
}

}  // namespace whale::rl
