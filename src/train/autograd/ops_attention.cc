// Causal multi-head attention with grouped key/value heads; the probabilities are kept for backward.
#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "train/autograd/ops.h"

namespace whale::ag {

Var attention(Graph& g, Var q, Var k, Var v, int64_t batch, float scale) {
  const Shape &qs = g.shape(q), &ks = g.shape(k), &vs = g.shape(v);
  if (qs.size() != 3 || ks.size() != 3 || vs.size() != 3 || ks[0] != qs[0] || vs[0] != qs[0] || ks[2] != qs[2] ||
      vs[1] != ks[1] || ks[1] == 0 || qs[1] % ks[1] != 0 || batch <= 0 || qs[0] % batch != 0)
    fail("autograd attention: q {}, k {}, v {} for {} sequences", shape_str(qs), shape_str(ks), shape_str(vs), batch);
  const int64_t n = qs[0], H = qs[1], dk = qs[2], Hk = ks[1], dv = vs[2], T = n / batch, group = H / Hk;
  Var y = g.make({n, H, dv}, g.requires_grad(q) || g.requires_grad(k) || g.requires_grad(v));
  // probs [batch, H, T, T]: row t holds the softmax over keys 0..t (the rest stays 0).
  auto probs = std::make_shared<std::vector<float>>(size_t(batch * H * T * T), 0.0f);
  const float *qv = g.value(q), *kv = g.value(k), *vv = g.value(v);
  float* yv = g.value(y);
  auto row = [&](int64_t b, int64_t t) { return b * T + t; };
  g.pool().parallel_for(size_t(batch * H), 1, [&](size_t begin, size_t end) {
    for (size_t task = begin; task < end; ++task) {
      const int64_t b = int64_t(task) / H, h = int64_t(task) % H, hk = h / group;
      float* P = probs->data() + (b * H + h) * T * T;
      for (int64_t t = 0; t < T; ++t) {
        const float* qr = qv + (row(b, t) * H + h) * dk;
        float* p = P + t * T;
        float mx = -INFINITY;
        for (int64_t s = 0; s <= t; ++s) {
          const float* kr = kv + (row(b, s) * Hk + hk) * dk;
          float dot = 0;
          for (int64_t j = 0; j < dk; ++j) dot += qr[j] * kr[j];
          p[s] = dot * scale;
          mx = std::max(mx, p[s]);
        }
        float sum = 0;
        for (int64_t s = 0; s <= t; ++s) sum += p[s] = std::exp(p[s] - mx);
        float* out = yv + (row(b, t) * H + h) * dv;
        for (int64_t s = 0; s <= t; ++s) {
          p[s] /= sum;
          const float* vr = vv + (row(b, s) * Hk + hk) * dv;
          for (int64_t j = 0; j < dv; ++j) out[j] += p[s] * vr[j];
        }
      }
    }
  });
  g.on_backward(y, [&g, q, k, v, y, probs, batch, T, H, Hk, dk, dv, group, scale] {
    const float *dy = g.grad(y), *qv = g.value(q), *kv = g.value(k), *vv = g.value(v);
    float* dq = g.requires_grad(q) ? g.grad(q) : nullptr;
    float* dk_ = g.requires_grad(k) ? g.grad(k) : nullptr;
    float* dv_ = g.requires_grad(v) ? g.grad(v) : nullptr;
    auto row = [T](int64_t b, int64_t t) { return b * T + t; };
    // One task per (sequence, kv head): the query heads of a group all write that kv head's gradients.
    g.pool().parallel_for(size_t(batch * Hk), 1, [&](size_t begin, size_t end) {
      std::vector<float> dp(static_cast<size_t>(T));
      for (size_t task = begin; task < end; ++task) {
        const int64_t b = int64_t(task) / Hk, hk = int64_t(task) % Hk;
        for (int64_t h = hk * group; h < (hk + 1) * group; ++h) {
          const float* P = probs->data() + (b * H + h) * T * T;
          for (int64_t t = 0; t < T; ++t) {
            const float* p = P + t * T;
            const float* dyr = dy + (row(b, t) * H + h) * dv;
            // dP = dO·Vᵀ; dS = P ⊙ (dP − Σ dP⊙P); dQ = scale·dS·K; dK = scale·dSᵀ·Q; dV = Pᵀ·dO.
            float dot = 0;
            for (int64_t s = 0; s <= t; ++s) {
              const float* vr = vv + (row(b, s) * Hk + hk) * dv;
              float acc = 0;
              for (int64_t j = 0; j < dv; ++j) acc += dyr[j] * vr[j];
              dp[size_t(s)] = acc;
              dot += acc * p[s];
            }
            const float* qr = qv + (row(b, t) * H + h) * dk;
            for (int64_t s = 0; s <= t; ++s) {
              const float ds = p[s] * (dp[size_t(s)] - dot) * scale;
              const int64_t kvrow = row(b, s) * Hk + hk;
              if (dq) {
                float* dqr = dq + (row(b, t) * H + h) * dk;
                for (int64_t j = 0; j < dk; ++j) dqr[j] += ds * kv[kvrow * dk + j];
              }
              if (dk_)
                for (int64_t j = 0; j < dk; ++j) dk_[kvrow * dk + j] += ds * qr[j];
              if (dv_)
                for (int64_t j = 0; j < dv; ++j) dv_[kvrow * dv + j] += p[s] * dyr[j];
            }
          }
        }
      }
    });
  });
  return y;
}

}  // namespace whale::ag
