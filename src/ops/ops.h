// CPU ops used by the model: destination-passing, f32 activations, weights in their stored dtype.
// Implementations live in ops/cpu/ (Highway SIMD with runtime dispatch, OpenBLAS for large GEMMs).
// Shape legend: n = rows of activations (tokens), k = input features, m = output features.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "tensor/tensor.h"

namespace whale::ops {

// y[n, m] = x[n, k] · Wᵀ, W = MatrixView [m, k] in any float dtype (F32/BF16/F16/F8E4M3 with block scales).
// When accumulate is true, y += x · Wᵀ instead. Parallel over the pool; no allocation for n == 1.
void matmul(ThreadPool& pool, const float* x, int64_t n, const MatrixView& w, float* y, bool accumulate = false);

// Single-threaded dot product of two f32 vectors.
float dot(const float* a, const float* b, int64_t k);
// y[i] += alpha * x[i]
void axpy(float alpha, const float* x, float* y, int64_t k);

// out[n, d] = x[n, d] / sqrt(mean(x²) + eps) * weight[d]   (out may alias x)
void rmsnorm(const float* x, const float* weight, int64_t n, int64_t d, float eps, float* out);

// In-place numerically stable softmax over each of n rows of length d.
void softmax(float* x, int64_t n, int64_t d);

// out[i] = silu(gate[i]) * up[i], silu(v) = v / (1 + exp(-v))   (out may alias gate or up)
void silu_mul(const float* gate, const float* up, int64_t count, float* out);

}  // namespace whale::ops
