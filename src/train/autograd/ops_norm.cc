// Row-wise normalisations (RMSNorm, softmax) and rotary position embeddings.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/autograd/ops.h"

namespace whale::ag {

Var rmsnorm(Graph& g, Var x, Var w, float eps) {
  const int64_t d = g.dim(x, -1), rows = g.numel(x) / d;
  if (g.numel(w) != d) fail("autograd rmsnorm: weight {} for rows of {}", shape_str(g.shape(w)), d);
  Var y = g.make(g.shape(x), g.requires_grad(x) || g.requires_grad(w));
  std::vector<float> inv_rms(size_t(rows), 0.0f);  // [rows] 1 / sqrt(mean(x²) + eps)
  const float *xv = g.value(x), *wv = g.value(w);
  float* yv = g.value(y);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xv + r * d;
    float ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += xr[j] * xr[j];
    const float inv = 1.0f / std::sqrt(ss / float(d) + eps);
    inv_rms[size_t(r)] = inv;
    for (int64_t j = 0; j < d; ++j) yv[r * d + j] = wv[j] * (xr[j] * inv);
  }
  g.on_backward(y, [&g, x, w, y, d, rows, inv_rms = std::move(inv_rms)] {
    const float *dy = g.grad(y), *xv = g.value(x), *wv = g.value(w);
    float* dx = g.requires_grad(x) ? g.grad(x) : nullptr;
    float* dw = g.requires_grad(w) ? g.grad(w) : nullptr;
    for (int64_t r = 0; r < rows; ++r) {
      const float inv = inv_rms[size_t(r)];
      const float *xr = xv + r * d, *dyr = dy + r * d;
      // With x̂ = x·inv: dx = inv · (dy⊙w − x̂ · mean(dy⊙w⊙x̂)); dw = Σ_rows dy⊙x̂.
      float dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += dyr[j] * wv[j] * xr[j] * inv;
      dot /= float(d);
      for (int64_t j = 0; j < d; ++j) {
        const float xhat = xr[j] * inv;
        if (dx) dx[r * d + j] += inv * (dyr[j] * wv[j] - xhat * dot);
        if (dw) dw[j] += dyr[j] * xhat;
      }
    }
  });
  return y;
}

Var softmax(Graph& g, Var x) {
  const int64_t d = g.dim(x, -1), rows = g.numel(x) / d;
  Var y = g.make(g.shape(x), g.requires_grad(x));
  const float* xv = g.value(x);
  float* yv = g.value(y);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xv + r * d;
    float* yr = yv + r * d;
    const float mx = *std::max_element(xr, xr + d);
    float s = 0;
    for (int64_t j = 0; j < d; ++j) s += yr[j] = std::exp(xr[j] - mx);
    for (int64_t j = 0; j < d; ++j) yr[j] /= s;
  }
  g.on_backward(y, [&g, x, y, d, rows] {
    const float *dy = g.grad(y), *yv = g.value(y);
    float* dx = g.grad(x);
    for (int64_t r = 0; r < rows; ++r) {  // dx = y ⊙ (dy − Σ dy⊙y)
      float dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += dy[r * d + j] * yv[r * d + j];
      for (int64_t j = 0; j < d; ++j) dx[r * d + j] += yv[r * d + j] * (dy[r * d + j] - dot);
    }
  });
  return y;
}

Var rope(Graph& g, Var x, const Rope& rope, std::span<const int64_t> pos) {
  const Shape& s = g.shape(x);
  if (s.size() != 3 || s[2] != rope.dim() || s[0] != int64_t(pos.size()))
    fail("autograd rope: input {} for {} positions of {} rotary dims", shape_str(s), pos.size(), rope.dim());
  const int64_t n = s[0], heads = s[1], dim = s[2];
  Var y = g.make(s, g.requires_grad(x));
  float* yv = g.value(y);
  std::copy_n(g.value(x), n * heads * dim, yv);
  for (int64_t i = 0; i < n; ++i) rope.apply(yv + i * heads * dim, heads, dim, pos[size_t(i)]);
  // The rotation by angle θ scaled by the YaRN factor has the transpose "rotation by −θ, same factor".
  g.on_backward(y, [&g, x, y, &rope, pos = std::vector<int64_t>(pos.begin(), pos.end()), heads, dim] {
    std::vector<float> d(g.grad(y), g.grad(y) + int64_t(pos.size()) * heads * dim);
    float* dx = g.grad(x);
    for (size_t i = 0; i < pos.size(); ++i) rope.apply(d.data() + int64_t(i) * heads * dim, heads, dim, -pos[i]);
    for (size_t i = 0; i < d.size(); ++i) dx[i] += d[i];
  });
  return y;
}

}  // namespace whale::ag
