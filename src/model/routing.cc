#include "model/routing.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace whale {
namespace {

// Indices of the k largest values (ties → lower index first), in descending order.
void top_k_indices(const float* v, int64_t n, int64_t k, int32_t* out) {
  for (int64_t j = 0; j < k; ++j) {
    int32_t best = -1;
    for (int64_t i = 0; i < n; ++i) {
      bool taken = std::find(out, out + j, int32_t(i)) != out + j;
      if (!taken && (best < 0 || v[i] > v[best])) best = int32_t(i);
    }
    out[j] = best;
  }
}

}  // namespace

void route_token(const ModelConfig& c, const float* logits, const float* bias, int32_t* idx, float* weight,
                 float* scratch) {
  const int64_t E = c.n_routed_experts;
  float* scores = scratch;      // [E] gate probabilities
  float* choice = scratch + E;  // [E] selection scores
  if (c.scoring_func == ScoringFunc::Softmax) {
    float mx = *std::max_element(logits, logits + E), sum = 0;
    for (int64_t e = 0; e < E; ++e) sum += scores[e] = std::exp(logits[e] - mx);
    for (int64_t e = 0; e < E; ++e) scores[e] /= sum;
  } else {
    for (int64_t e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  }
  for (int64_t e = 0; e < E; ++e) choice[e] = scores[e] + (bias ? bias[e] : 0.0f);

  if (c.topk_method != TopkMethod::Greedy && c.n_group > 1) {
    // Keep the topk_group best groups; a group scores by its max (V2) or the sum of its top-2 (V3, noaux_tc).
    const int64_t G = c.n_group, per = E / G;
    float group_score[1024];
    int32_t keep[1024];
    for (int64_t g = 0; g < G; ++g) {
      const float* s = choice + g * per;
      if (c.topk_method == TopkMethod::NoauxTc) {
        int32_t two[2];
        int64_t k2 = std::min<int64_t>(2, per);
        top_k_indices(s, per, k2, two);
        group_score[g] = 0;
        for (int64_t j = 0; j < k2; ++j) group_score[g] += s[two[j]];
      } else {
        group_score[g] = *std::max_element(s, s + per);
      }
    }
    top_k_indices(group_score, G, c.topk_group, keep);
    for (int64_t g = 0; g < G; ++g) {
      if (std::find(keep, keep + c.topk_group, int32_t(g)) != keep + c.topk_group) continue;
      std::fill(choice + g * per, choice + (g + 1) * per, -std::numeric_limits<float>::infinity());
    }
  }
  top_k_indices(choice, E, c.top_k, idx);

  float sum = 0;
  for (int64_t j = 0; j < c.top_k; ++j) sum += weight[j] = scores[idx[j]];
  bool normalise = c.norm_topk_prob && c.top_k > 1;
  if (normalise) {
    for (int64_t j = 0; j < c.top_k; ++j) weight[j] /= sum + 1e-20f;
  }
  // V3 scales after normalising; V2 scales only the unnormalised weights.
  if (c.arch == Arch::DeepseekV3 || !normalise) {
    for (int64_t j = 0; j < c.top_k; ++j) weight[j] *= float(c.routed_scaling_factor);
  }
}

}  // namespace whale
