// DeepSeekMoE layer: out = Σ_{e ∈ top_k(x)} g_e · expert_e(x) + shared_experts(x)   (DeepSeek-V3 paper eq. 12-16).
// Tokens are grouped by expert so each expert's weights are read once per batch.
#include <cstring>

#include "model/model.h"
#include "model/routing.h"
#include "ops/ops.h"

namespace whale {

void Model::moe(int64_t layer, const float* x, int64_t n, float* out) {
  const ModelConfig& c = config_;
  const MoeWeights& w = weights_.weights.layers[size_t(layer)].moe;
  const int64_t E = c.n_routed_experts, K = c.top_k, d = c.d_model;

  std::vector<float> router_logits(size_t(n * E));  // [n_tok, n_routed_experts]
  ops::matmul(pool_, x, n, w.router, router_logits.data());
  std::vector<int32_t> idx(size_t(n * K));  // [n_tok, top_k]
  std::vector<float> gate(size_t(n * K));   // [n_tok, top_k]
  std::vector<float> scratch(size_t(2 * E));
  for (int64_t i = 0; i < n; ++i)
    route_token(c, router_logits.data() + i * E, w.score_bias.data, idx.data() + i * K, gate.data() + i * K,
                scratch.data());

  // Shared experts first (they see every token), then routed experts accumulate into out.
  if (w.has_shared) mlp(w.shared, x, n, out, /*accumulate=*/false);
  else std::memset(out, 0, size_t(n * d) * sizeof(float));

  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(E));  // expert → assignments (token * K + slot)
  for (int64_t a = 0; a < n * K; ++a) rows[size_t(idx[size_t(a)])].push_back(a);
  std::vector<float> xe, ye;
  for (int64_t e = 0; e < E; ++e) {
    const std::vector<int64_t>& assigned = rows[size_t(e)];
    const int64_t m = int64_t(assigned.size());
    if (m == 0) continue;
    xe.resize(size_t(m * d));  // [m, d_model] gathered tokens
    ye.resize(size_t(m * d));
    for (int64_t j = 0; j < m; ++j)
      std::memcpy(xe.data() + j * d, x + (assigned[size_t(j)] / K) * d, size_t(d) * sizeof(float));
    mlp(w.experts[size_t(e)], xe.data(), m, ye.data(), /*accumulate=*/false);
    for (int64_t j = 0; j < m; ++j) {
      int64_t a = assigned[size_t(j)];
      ops::axpy(gate[size_t(a)], ye.data() + j * d, out + (a / K) * d, d);
    }
  }
}

}  // namespace whale
