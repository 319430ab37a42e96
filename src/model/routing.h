// DeepSeekMoE expert selection for one token (config keys scoring_func, topk_method, n_group, topk_group,
// norm_topk_prob, routed_scaling_factor; V3's e_score_correction_bias is used for selection only).
#pragma once

#include <cstdint>

#include "model/config.h"

namespace whale {

// logits [n_routed_experts] (router output, f32); bias [n_routed_experts] or null.
// Writes the selected expert ids idx[top_k] (descending selection score) and their weights weight[top_k].
// scratch needs 2 * n_routed_experts floats.
void route_token(const ModelConfig& config, const float* logits, const float* bias, int32_t* idx, float* weight,
                 float* scratch);

}  // namespace whale
