// Differentiable ops on the tape (graph.h). Each op computes its output now and records how to send the
// output's gradient to its inputs. Shapes name the layout of row-major f32 buffers; "[..., d]" means any
// leading dims, flattened to rows of d.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "model/rope.h"
#include "train/autograd/graph.h"

namespace whale::ag {

// --- dense algebra (ops_linear.cc) ---
// x [..., in], w [out, in], b [out] or undefined → [..., out] = x·wᵀ + b  (OpenBLAS sgemm, backward too)
Var linear(Graph& g, Var x, Var w, Var b = {});
// table [vocab, d], ids [n] → [n, d]
Var embedding(Graph& g, Var table, std::span<const int32_t> ids);

// --- element-wise and layout (ops_elementwise.cc) ---
Var add(Graph& g, Var a, Var b);        // same shapes
Var scale(Graph& g, Var x, float s);    // s · x
Var silu_mul(Graph& g, Var gate, Var up);  // silu(gate) ⊙ up (SwiGLU)
Var sigmoid(Graph& g, Var x);
Var reshape(Graph& g, Var x, Shape shape);  // same number of elements
// Last-dim slice: [..., c] → [..., width] taking columns [begin, begin + width).
Var slice(Graph& g, Var x, int64_t begin, int64_t width);
// Last-dim concatenation: [..., ca] ++ [..., cb] → [..., ca + cb] (same leading dims).
Var concat(Graph& g, Var a, Var b);
// Row concatenation: [m_i, d] for each part → [Σ m_i, d].
Var concat_rows(Graph& g, std::span<const Var> parts);
// [n, 1, d] → [n, heads, d] (one key shared by every head, as MLA's rope key).
Var expand_heads(Graph& g, Var x, int64_t heads);
// x [n, d], rows [m] (indices into n) → [m, d]
Var gather_rows(Graph& g, Var x, std::span<const int64_t> rows);
// src [m, d], rows [m] → [n, d] with out[rows[i]] += src[i]
Var scatter_add_rows(Graph& g, Var src, std::span<const int64_t> rows, int64_t n);
// x [m, d], w: element idx[i] of a weight tensor scales row i → [m, d]
Var scale_rows(Graph& g, Var x, Var w, std::span<const int64_t> idx);
// Sum of all elements → [1].
Var sum(Graph& g, Var x);

// --- normalisation and attention (ops_norm.cc, ops_attention.cc) ---
Var rmsnorm(Graph& g, Var x, Var w, float eps);  // x [..., d], w [d]
Var softmax(Graph& g, Var x);                    // over the last dim
// x [n, heads, dim]: rotates every head of token i at position pos[i].
Var rope(Graph& g, Var x, const Rope& rope, std::span<const int64_t> pos);
// Causal attention over `batch` sequences of T = n / batch tokens each. q [n, H, dk], k [n, Hk, dk],
// v [n, Hk, dv] (query head h reads kv head h / (H / Hk)) → [n, H, dv].
Var attention(Graph& g, Var q, Var k, Var v, int64_t batch, float scale);

// --- routing and losses (ops_loss.cc) ---
// scores [n, E], idx [n, k] selected experts → [n, k] gate weights: scores[idx], divided by their sum
// (+1e-20) when `normalize`, times `scale` (config keys norm_topk_prob, routed_scaling_factor).
Var routing_weights(Graph& g, Var scores, std::span<const int32_t> idx, int64_t k, bool normalize, float scale);
// Complementary sequence-wise balance loss (DeepSeek-V3 eq. 17–20, without α): for each of `batch`
// sequences of T tokens, Σ_i f_i·P_i with f_i = E/(k·T)·#{t: i selected}, P_i = mean_t s_i,t / Σ_j s_j,t;
// averaged over sequences. scores [n, E], idx [n, k] → [1].
Var sequence_balance_loss(Graph& g, Var scores, std::span<const int32_t> idx, int64_t k, int64_t batch);
// logits [n, V], targets [n] (−1 = ignore) → [1]: mean cross-entropy over the counted rows.
Var cross_entropy(Graph& g, Var logits, std::span<const int32_t> targets);
// logits [n, V], targets [n] (−1 = ignore, gives 0) → [n] log-softmax(logits)[target].
Var token_logprobs(Graph& g, Var logits, std::span<const int32_t> targets);
// A scalar function of x with its own gradient: fn(x, dx) returns f(x) and writes d f / d x → [1].
using ScalarFn = std::function<float(const float* x, float* dx)>;
Var scalar_fn(Graph& g, Var x, const ScalarFn& fn);

}  // namespace whale::ag
