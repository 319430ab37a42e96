// linear and embedding: the dense-algebra ops, on OpenBLAS sgemm (f32 master weights).
#include <cblas.h>

#include <cstring>

#include "core/error.h"
#include "train/autograd/ops.h"

namespace whale::ag {

Var linear(Graph& g, Var x, Var w, Var b) {
  const int64_t in = g.dim(x, -1), out = g.dim(w, 0), n = g.numel(x) / in;
  if (g.shape(w).size() != 2 || g.dim(w, 1) != in)
    fail("autograd linear: input {} does not match weight {}", shape_str(g.shape(x)), shape_str(g.shape(w)));
  if (b.defined() && g.numel(b) != out) fail("autograd linear: bias {} for {} outputs", shape_str(g.shape(b)), out);
  Shape shape = g.shape(x);
  shape.back() = out;
  Var y = g.make(shape, g.requires_grad(x) || g.requires_grad(w) || (b.defined() && g.requires_grad(b)));
  float* yv = g.value(y);  // [n, out]
  if (b.defined()) {
    const float* bv = g.value(b);
    for (int64_t i = 0; i < n; ++i) std::memcpy(yv + i * out, bv, size_t(out) * sizeof(float));
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(out), int(in), 1.0f, g.value(x), int(in),
              g.value(w), int(in), b.defined() ? 1.0f : 0.0f, yv, int(out));
  g.on_backward(y, [&g, x, w, b, y, n, in, out] {
    const float* dy = g.grad(y);  // [n, out]
    if (g.requires_grad(x))       // dx[n, in] += dy · w
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(in), int(out), 1.0f, dy, int(out),
                  g.value(w), int(in), 1.0f, g.grad(x), int(in));
    if (g.requires_grad(w))  // dw[out, in] += dyᵀ · x
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(out), int(in), int(n), 1.0f, dy, int(out),
                  g.value(x), int(in), 1.0f, g.grad(w), int(in));
    if (b.defined() && g.requires_grad(b)) {
      float* db = g.grad(b);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t o = 0; o < out; ++o) db[o] += dy[i * out + o];
    }
  });
  return y;
}

Var embedding(Graph& g, Var table, std::span<const int32_t> ids) {
  const int64_t vocab = g.dim(table, 0), d = g.dim(table, 1), n = int64_t(ids.size());
  for (int32_t id : ids)
    if (id < 0 || id >= vocab) fail("autograd embedding: token id {} outside the vocabulary of {}", id, vocab);
  Var y = g.make({n, d}, g.requires_grad(table));
  const float* tv = g.value(table);
  float* yv = g.value(y);
  for (int64_t i = 0; i < n; ++i) std::memcpy(yv + i * d, tv + int64_t(ids[size_t(i)]) * d, size_t(d) * sizeof(float));
  std::vector<int32_t> kept(ids.begin(), ids.end());
  g.on_backward(y, [&g, table, y, kept = std::move(kept), d] {
    const float* dy = g.grad(y);
    float* dt = g.grad(table);
    for (size_t i = 0; i < kept.size(); ++i)
      for (int64_t j = 0; j < d; ++j) dt[int64_t(kept[i]) * d + j] += dy[int64_t(i) * d + j];
  });
  return y;
}

}  // namespace whale::ag
