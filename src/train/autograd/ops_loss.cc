// Losses and routing: cross-entropy, per-token log-probs, MoE gate weights, the sequence-wise balance loss,
// and scalar functions with their own gradient (e.g. the GRPO objective of per-token log-probs).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/autograd/ops.h"

namespace whale::ag {
namespace {

void check_targets(Graph& g, Var logits, std::span<const int32_t> targets, const char* op) {
  const int64_t V = g.dim(logits, -1), n = g.numel(logits) / V;
  if (int64_t(targets.size()) != n) fail("autograd {}: {} targets for {} rows", op, targets.size(), n);
  for (int32_t t : targets)
    if (t < -1 || t >= V) fail("autograd {}: target {} outside the vocabulary of {}", op, t, V);
}

// log Σ exp over each row of x [rows, V], rows with target −1 skipped.
std::vector<float> row_logsumexp(Graph& g, const float* x, int64_t V, std::span<const int32_t> targets) {
  std::vector<float> lse(targets.size(), 0.0f);
  g.pool().parallel_for(targets.size(), 16, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      if (targets[r] < 0) continue;
      const float* xr = x + int64_t(r) * V;
      const float mx = *std::max_element(xr, xr + V);
      double s = 0;
      for (int64_t j = 0; j < V; ++j) s += std::exp(double(xr[j] - mx));
      lse[r] = mx + float(std::log(s));
    }
  });
  return lse;
}

// dx[r] += coef[r] · (softmax(x[r]) − onehot(target[r])) for every counted row.
void add_softmax_minus_onehot(Graph& g, const float* x, float* dx, int64_t V, const std::vector<int32_t>& targets,
                              const std::vector<float>& lse, const std::vector<float>& coef) {
  g.pool().parallel_for(targets.size(), 16, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      if (targets[r] < 0 || coef[r] == 0.0f) continue;
      const float *xr = x + int64_t(r) * V;
      float* dr = dx + int64_t(r) * V;
      for (int64_t j = 0; j < V; ++j) dr[j] += coef[r] * std::exp(xr[j] - lse[r]);
      dr[targets[r]] -= coef[r];
    }
  });
}

}  // namespace

Var cross_entropy(Graph& g, Var logits, std::span<const int32_t> targets) {
  check_targets(g, logits, targets, "cross_entropy");
  const int64_t V = g.dim(logits, -1);
  const int64_t counted = std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t >= 0; });
  if (counted == 0) fail("autograd cross_entropy: every target is ignored");
  Var y = g.make({1}, g.requires_grad(logits));
  const float* x = g.value(logits);
  std::vector<float> lse = row_logsumexp(g, x, V, targets);
  double total = 0;
  for (size_t r = 0; r < targets.size(); ++r)
    if (targets[r] >= 0) total += lse[r] - x[int64_t(r) * V + targets[r]];
  g.value(y)[0] = float(total / double(counted));
  g.on_backward(y, [&g, logits, y, V, counted, lse = std::move(lse),
                    t = std::vector<int32_t>(targets.begin(), targets.end())] {
    std::vector<float> coef(t.size(), g.grad(y)[0] / float(counted));
    add_softmax_minus_onehot(g, g.value(logits), g.grad(logits), V, t, lse, coef);
  });
  return y;
}

Var token_logprobs(Graph& g, Var logits, std::span<const int32_t> targets) {
  check_targets(g, logits, targets, "token_logprobs");
  const int64_t V = g.dim(logits, -1), n = int64_t(targets.size());
  Var y = g.make({n}, g.requires_grad(logits));
  const float* x = g.value(logits);
  std::vector<float> lse = row_logsumexp(g, x, V, targets);
  float* yv = g.value(y);
  for (int64_t r = 0; r < n; ++r)
    if (targets[size_t(r)] >= 0) yv[r] = x[r * V + targets[size_t(r)]] - lse[size_t(r)];
  g.on_backward(y, [&g, logits, y, V, n, lse = std::move(lse),
                    t = std::vector<int32_t>(targets.begin(), targets.end())] {
    // d logp / d x = onehot − softmax: the negated cross-entropy gradient.
    std::vector<float> coef(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) coef[size_t(r)] = -g.grad(y)[r];
    add_softmax_minus_onehot(g, g.value(logits), g.grad(logits), V, t, lse, coef);
  });
  return y;
}

Var routing_weights(Graph& g, Var scores, std::span<const int32_t> idx, int64_t k, bool normalize, float scale) {
  const int64_t E = g.dim(scores, -1), n = g.numel(scores) / E;
  if (int64_t(idx.size()) != n * k) fail("autograd routing_weights: {} indices for {} tokens × top-{}", idx.size(), n, k);
  for (int32_t e : idx)
    if (e < 0 || e >= E) fail("autograd routing_weights: expert {} of {}", e, E);
  Var y = g.make({n, k}, g.requires_grad(scores));
  const float* s = g.value(scores);
  float* w = g.value(y);
  std::vector<float> denom(size_t(n), 1.0f);  // [n] Σ selected scores + 1e-20 (1 when not normalising)
  for (int64_t i = 0; i < n; ++i) {
    float sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += s[i * E + idx[size_t(i * k + j)]];
    if (normalize) denom[size_t(i)] = sum + 1e-20f;
    for (int64_t j = 0; j < k; ++j) w[i * k + j] = s[i * E + idx[size_t(i * k + j)]] / denom[size_t(i)] * scale;
  }
  g.on_backward(y, [&g, scores, y, n, k, E, normalize, scale, denom = std::move(denom),
                    idx = std::vector<int32_t>(idx.begin(), idx.end())] {
    const float *dw = g.grad(y), *s = g.value(scores);
    float* ds = g.grad(scores);
    for (int64_t i = 0; i < n; ++i) {
      // w_j = c·u_j / D with D = Σ u + 1e-20: d/du_m = c·(dw_m / D − Σ_j dw_j·u_j / D²).
      const float D = denom[size_t(i)];
      float cross = 0;
      if (normalize)
        for (int64_t j = 0; j < k; ++j) cross += dw[i * k + j] * s[i * E + idx[size_t(i * k + j)]];
      for (int64_t j = 0; j < k; ++j) {
        const int64_t e = idx[size_t(i * k + j)];
        ds[i * E + e] += scale * (dw[i * k + j] / D - (normalize ? cross / (D * D) : 0.0f));
      }
    }
  });
  return y;
}

Var sequence_balance_loss(Graph& g, Var scores, std::span<const int32_t> idx, int64_t k, int64_t batch) {
  const int64_t E = g.dim(scores, -1), n = g.numel(scores) / E;
  if (batch <= 0 || n % batch != 0 || int64_t(idx.size()) != n * k)
    fail("autograd sequence_balance_loss: {} tokens, {} indices, {} sequences", n, idx.size(), batch);
  const int64_t T = n / batch;
  // f [batch, E]: E/(k·T) × how often expert i is selected in the sequence.
  std::vector<float> f(size_t(batch * E), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) f[size_t((i / T) * E + idx[size_t(i * k + j)])] += float(E) / float(k * T);
  std::vector<float> row_sum(static_cast<size_t>(n));  // [n] Σ_j s_j,t
  const float* s = g.value(scores);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    float rs = 0;
    for (int64_t e = 0; e < E; ++e) rs += s[i * E + e];
    row_sum[size_t(i)] = rs;
    for (int64_t e = 0; e < E; ++e) loss += f[size_t((i / T) * E + e)] * s[i * E + e] / rs / float(T);
  }
  Var y = g.make({1}, g.requires_grad(scores));
  g.value(y)[0] = float(loss / double(batch));
  g.on_backward(y, [&g, scores, y, n, E, T, batch, f = std::move(f), row_sum = std::move(row_sum)] {
    const float dy = g.grad(y)[0], *s = g.value(scores);
    float* ds = g.grad(scores);
    for (int64_t i = 0; i < n; ++i) {
      // loss ∝ Σ_e f_e · s_e / Σs: d/ds_m = (f_m − Σ_e f_e·s_e/Σs) / Σs, times dy / (T · batch).
      const float* fr = f.data() + (i / T) * E;
      const float rs = row_sum[size_t(i)], c = dy / float(T * batch);
      float mix = 0;
      for (int64_t e = 0; e < E; ++e) mix += fr[e] * s[i * E + e] / rs;
      for (int64_t e = 0; e < E; ++e) ds[i * E + e] += c * (fr[e] - mix) / rs;
    }
  });
  return y;
}

Var scalar_fn(Graph& g, Var x, const ScalarFn& fn) {
  const int64_t n = g.numel(x);
  std::vector<float> dfdx(size_t(n), 0.0f);
  Var y = g.make({1}, g.requires_grad(x));
  g.value(y)[0] = fn(g.value(x), dfdx.data());
  g.on_backward(y, [&g, x, y, n, dfdx = std::move(dfdx)] {
    const float dy = g.grad(y)[0];
    float* dx = g.grad(x);
    for (int64_t i = 0; i < n; ++i) dx[i] += dy * dfdx[size_t(i)];
  });
  return y;
}

}  // namespace whale::ag
