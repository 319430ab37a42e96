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

  float* router_logits = grow(ws_.router_logits, n * E);  // [n_tok, n_routed_experts]
  ops::matmul(pool_, x, n, w.router, router_logits);
  ws_.expert_idx.resize(size_t(n * K));
  int32_t* idx = ws_.expert_idx.data();          // [n_tok, top_k]
  float* gate = grow(ws_.expert_weight, n * K);  // [n_tok, top_k]
  float* scratch = grow(ws_.routing_scratch, 2 * E);
  for (int64_t i = 0; i < n; ++i)
    route_token(c, router_logits + i * E, w.score_bias.data, idx + i * K, gate + i * K, scratch);

  // Shared experts first (they see every token), then routed experts accumulate into out.
  if (w.has_shared) mlp(w.shared, x, n, out, /*accumulate=*/false);
  else std::memset(out, 0, size_t(n * d) * sizeof(float));

  std::vector<std::vector<int64_t>>& rows = ws_.expert_rows;  // expert → assignments (token * K + slot)
  rows.resize(size_t(E));
  for (auto& r : rows) r.clear();
  for (int64_t a = 0; a < n * K; ++a) rows[size_t(idx[a])].push_back(a);
  for (int64_t e = 0; e < E; ++e) {
    const std::vector<int64_t>& assigned = rows[size_t(e)];
    const int64_t m = int64_t(assigned.size());
    if (m == 0) continue;
    float* xe = grow(ws_.expert_in, m * d);   // [m, d_model] gathered tokens
    float* ye = grow(ws_.expert_out, m * d);  // [m, d_model]
    for (int64_t j = 0; j < m; ++j)
      std::memcpy(xe + j * d, x + (assigned[size_t(j)] / K) * d, size_t(d) * sizeof(float));
    mlp(w.experts[size_t(e)], xe, m, ye, /*accumulate=*/false);
    for (int64_t j = 0; j < m; ++j) {
      int64_t a = assigned[size_t(j)];
      ops::axpy(gate[a], ye + j * d, out + (a / K) * d, d);
    }
  }
}

}  // namespace whale
