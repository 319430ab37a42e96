// Element-wise and layout ops: their backward is a copy, a product or a scatter.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "train/autograd/ops.h"

namespace whale::ag {
namespace {

void check_same(Graph& g, Var a, Var b, const char* op) {
  if (g.shape(a) != g.shape(b))
    fail("autograd {}: shapes {} and {} differ", op, shape_str(g.shape(a)), shape_str(g.shape(b)));
}

// Adds src (n floats) into grad(x) when x needs a gradient.
void accumulate(Graph& g, Var x, const float* src, int64_t n) {
  if (!g.requires_grad(x)) return;
  float* dx = g.grad(x);
  for (int64_t i = 0; i < n; ++i) dx[i] += src[i];
}

}  // namespace

Var add(Graph& g, Var a, Var b) {
  check_same(g, a, b, "add");
  const int64_t n = g.numel(a);
  Var y = g.make(g.shape(a), g.requires_grad(a) || g.requires_grad(b));
  const float *av = g.value(a), *bv = g.value(b);
  float* yv = g.value(y);
  for (int64_t i = 0; i < n; ++i) yv[i] = av[i] + bv[i];
  g.on_backward(y, [&g, a, b, y, n] {
    accumulate(g, a, g.grad(y), n);
    accumulate(g, b, g.grad(y), n);
  });
  return y;
}

Var scale(Graph& g, Var x, float s) {
  const int64_t n = g.numel(x);
  Var y = g.make(g.shape(x), g.requires_grad(x));
  const float* xv = g.value(x);
  float* yv = g.value(y);
  for (int64_t i = 0; i < n; ++i) yv[i] = s * xv[i];
  g.on_backward(y, [&g, x, y, n, s] {
    const float* dy = g.grad(y);
    float* dx = g.grad(x);
    for (int64_t i = 0; i < n; ++i) dx[i] += s * dy[i];
  });
  return y;
}

Var silu_mul(Graph& g, Var gate, Var up) {
  check_same(g, gate, up, "silu_mul");
  const int64_t n = g.numel(gate);
  Var y = g.make(g.shape(gate), g.requires_grad(gate) || g.requires_grad(up));
  const float *gv = g.value(gate), *uv = g.value(up);
  float* yv = g.value(y);
  for (int64_t i = 0; i < n; ++i) yv[i] = gv[i] / (1.0f + std::exp(-gv[i])) * uv[i];
  g.on_backward(y, [&g, gate, up, y, n] {
    const float *dy = g.grad(y), *gv = g.value(gate), *uv = g.value(up);
    float* dg = g.requires_grad(gate) ? g.grad(gate) : nullptr;
    float* du = g.requires_grad(up) ? g.grad(up) : nullptr;
    for (int64_t i = 0; i < n; ++i) {
      float sig = 1.0f / (1.0f + std::exp(-gv[i]));
      float silu = gv[i] * sig;
      // d silu / d x = σ(x) · (1 + x · (1 − σ(x)))
      if (dg) dg[i] += dy[i] * uv[i] * sig * (1.0f + gv[i] * (1.0f - sig));
      if (du) du[i] += dy[i] * silu;
    }
  });
  return y;
}

Var sigmoid(Graph& g, Var x) {
  const int64_t n = g.numel(x);
  Var y = g.make(g.shape(x), g.requires_grad(x));
  const float* xv = g.value(x);
  float* yv = g.value(y);
  for (int64_t i = 0; i < n; ++i) yv[i] = 1.0f / (1.0f + std::exp(-xv[i]));
  g.on_backward(y, [&g, x, y, n] {
    const float *dy = g.grad(y), *yv = g.value(y);
    float* dx = g.grad(x);
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * yv[i] * (1.0f - yv[i]);
  });
  return y;
}

Var reshape(Graph& g, Var x, Shape shape) {
  if (shape_numel(shape) != g.numel(x))
    fail("autograd reshape: {} to {} changes the element count", shape_str(g.shape(x)), shape_str(shape));
  const int64_t n = g.numel(x);
  Var y = g.make(std::move(shape), g.requires_grad(x));
  std::memcpy(g.value(y), g.value(x), size_t(n) * sizeof(float));
  g.on_backward(y, [&g, x, y, n] { accumulate(g, x, g.grad(y), n); });
  return y;
}

Var slice(Graph& g, Var x, int64_t begin, int64_t width) {
  const int64_t c = g.dim(x, -1), rows = g.numel(x) / c;
  if (begin < 0 || width < 0 || begin + width > c)
    fail("autograd slice: columns [{}, {}) of {}", begin, begin + width, shape_str(g.shape(x)));
  Shape shape = g.shape(x);
  shape.back() = width;
  Var y = g.make(shape, g.requires_grad(x));
  const float* xv = g.value(x);
  float* yv = g.value(y);
  for (int64_t r = 0; r < rows; ++r) std::memcpy(yv + r * width, xv + r * c + begin, size_t(width) * sizeof(float));
  g.on_backward(y, [&g, x, y, rows, c, begin, width] {
    const float* dy = g.grad(y);
    float* dx = g.grad(x);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < width; ++j) dx[r * c + begin + j] += dy[r * width + j];
  });
  return y;
}

Var concat(Graph& g, Var a, Var b) {
  const int64_t ca = g.dim(a, -1), cb = g.dim(b, -1), rows = g.numel(a) / ca;
  Shape shape = g.shape(a);
  Shape lead_a(shape.begin(), shape.end() - 1), lead_b(g.shape(b).begin(), g.shape(b).end() - 1);
  if (lead_a != lead_b)
    fail("autograd concat: shapes {} and {} differ before the last dim", shape_str(shape), shape_str(g.shape(b)));
  shape.back() = ca + cb;
  Var y = g.make(shape, g.requires_grad(a) || g.requires_grad(b));
  const float *av = g.value(a), *bv = g.value(b);
  float* yv = g.value(y);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(yv + r * (ca + cb), av + r * ca, size_t(ca) * sizeof(float));
    std::memcpy(yv + r * (ca + cb) + ca, bv + r * cb, size_t(cb) * sizeof(float));
  }
  g.on_backward(y, [&g, a, b, y, rows, ca, cb] {
    const float* dy = g.grad(y);
    for (auto [part, offset, width] : {std::tuple{a, int64_t(0), ca}, std::tuple{b, ca, cb}}) {
      if (!g.requires_grad(part)) continue;
      float* dp = g.grad(part);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < width; ++j) dp[r * width + j] += dy[r * (ca + cb) + offset + j];
    }
  });
  return y;
}

Var concat_rows(Graph& g, std::span<const Var> parts) {
  if (parts.empty()) fail("autograd concat_rows: no inputs");
  const int64_t d = g.dim(parts[0], -1);
  int64_t rows = 0;
  bool needs_grad = false;
  for (Var p : parts) {
    if (g.dim(p, -1) != d) fail("autograd concat_rows: rows of {} and {}", d, g.dim(p, -1));
    rows += g.numel(p) / d;
    needs_grad = needs_grad || g.requires_grad(p);
  }
  Var y = g.make({rows, d}, needs_grad);
  float* yv = g.value(y);
  for (Var p : parts) yv = std::copy_n(g.value(p), g.numel(p), yv);
  g.on_backward(y, [&g, y, parts = std::vector<Var>(parts.begin(), parts.end())] {
    const float* dy = g.grad(y);
    for (Var p : parts) {
      accumulate(g, p, dy, g.numel(p));
      dy += g.numel(p);
    }
  });
  return y;
}

Var expand_heads(Graph& g, Var x, int64_t heads) {
  if (g.shape(x).size() != 3 || g.dim(x, 1) != 1)
    fail("autograd expand_heads: expected [n, 1, d], got {}", shape_str(g.shape(x)));
  const int64_t n = g.dim(x, 0), d = g.dim(x, 2);
  Var y = g.make({n, heads, d}, g.requires_grad(x));
  const float* xv = g.value(x);
  float* yv = g.value(y);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < heads; ++h) std::memcpy(yv + (i * heads + h) * d, xv + i * d, size_t(d) * sizeof(float));
  g.on_backward(y, [&g, x, y, n, heads, d] {
    const float* dy = g.grad(y);
    float* dx = g.grad(x);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < d; ++j) dx[i * d + j] += dy[(i * heads + h) * d + j];
  });
  return y;
}

Var gather_rows(Graph& g, Var x, std::span<const int64_t> rows) {
  const int64_t d = g.dim(x, -1), n = g.numel(x) / d, m = int64_t(rows.size());
  for (int64_t r : rows)
    if (r < 0 || r >= n) fail("autograd gather_rows: row {} of {}", r, n);
  Var y = g.make({m, d}, g.requires_grad(x));
  const float* xv = g.value(x);
  float* yv = g.value(y);
  for (int64_t i = 0; i < m; ++i) std::memcpy(yv + i * d, xv + rows[size_t(i)] * d, size_t(d) * sizeof(float));
  g.on_backward(y, [&g, x, y, rows = std::vector<int64_t>(rows.begin(), rows.end()), d] {
    const float* dy = g.grad(y);
    float* dx = g.grad(x);
    for (size_t i = 0; i < rows.size(); ++i)
      for (int64_t j = 0; j < d; ++j) dx[rows[i] * d + j] += dy[int64_t(i) * d + j];
  });
  return y;
}

Var scatter_add_rows(Graph& g, Var src, std::span<const int64_t> rows, int64_t n) {
  const int64_t d = g.dim(src, -1), m = g.numel(src) / d;
  if (int64_t(rows.size()) != m) fail("autograd scatter_add_rows: {} rows for {} indices", m, rows.size());
  for (int64_t r : rows)
    if (r < 0 || r >= n) fail("autograd scatter_add_rows: row {} of {}", r, n);
  Var y = g.make({n, d}, g.requires_grad(src));
  const float* sv = g.value(src);
  float* yv = g.value(y);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < d; ++j) yv[rows[size_t(i)] * d + j] += sv[i * d + j];
  g.on_backward(y, [&g, src, y, rows = std::vector<int64_t>(rows.begin(), rows.end()), d] {
    const float* dy = g.grad(y);
    float* ds = g.grad(src);
    for (size_t i = 0; i < rows.size(); ++i)
      for (int64_t j = 0; j < d; ++j) ds[int64_t(i) * d + j] += dy[rows[i] * d + j];
  });
  return y;
}

Var scale_rows(Graph& g, Var x, Var w, std::span<const int64_t> idx) {
  const int64_t d = g.dim(x, -1), m = g.numel(x) / d;
  if (int64_t(idx.size()) != m) fail("autograd scale_rows: {} rows for {} weights", m, idx.size());
  for (int64_t i : idx)
    if (i < 0 || i >= g.numel(w)) fail("autograd scale_rows: weight index {} of {}", i, g.numel(w));
  Var y = g.make(g.shape(x), g.requires_grad(x) || g.requires_grad(w));
  const float *xv = g.value(x), *wv = g.value(w);
  float* yv = g.value(y);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < d; ++j) yv[i * d + j] = xv[i * d + j] * wv[idx[size_t(i)]];
  g.on_backward(y, [&g, x, w, y, idx = std::vector<int64_t>(idx.begin(), idx.end()), d] {
    const float *dy = g.grad(y), *xv = g.value(x), *wv = g.value(w);
    float* dx = g.requires_grad(x) ? g.grad(x) : nullptr;
    float* dw = g.requires_grad(w) ? g.grad(w) : nullptr;
    for (size_t i = 0; i < idx.size(); ++i) {
      const int64_t r = int64_t(i) * d;
      float dot = 0;
      for (int64_t j = 0; j < d; ++j) {
        if (dx) dx[r + j] += dy[r + j] * wv[idx[i]];
        dot += dy[r + j] * xv[r + j];
      }
      if (dw) dw[idx[i]] += dot;
    }
  });
  return y;
}

Var sum(Graph& g, Var x) {
  const int64_t n = g.numel(x);
  Var y = g.make({1}, g.requires_grad(x));
  const float* xv = g.value(x);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += xv[i];
  g.value(y)[0] = float(s);
  g.on_backward(y, [&g, x, y, n] {
    const float dy = g.grad(y)[0];
    float* dx = g.grad(x);
    for (int64_t i = 0; i < n; ++i) dx[i] += dy;
  });
  return y;
}

}  // namespace whale::ag
