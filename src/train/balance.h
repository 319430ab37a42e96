// Auxiliary-loss-free load balancing (DeepSeek-V3 §2.1.2): after each step, every MoE layer's
// e_score_correction_bias moves by γ towards balance — down for experts above the mean load, up for those
// below — so selection evens out without a loss term that distorts the gradient.
#pragma once

#include <vector>

#include "train/params.h"
#include "train/transformer.h"

namespace whale {

struct LayerBalance {
  std::string router;      // "model.layers.<i>.mlp.gate"
  double imbalance = 1.0;  // max load / mean load of the step (1 = perfectly balanced)
};

// Sums per-router loads over the micro-batches of one step.
void accumulate_expert_load(std::vector<TrainForward::ExpertLoad>& total,
                            const std::vector<TrainForward::ExpertLoad>& step);

// Applies the bias update with rate gamma (0: only measures) and returns each layer's imbalance.
std::vector<LayerBalance> update_routing_bias(ParamSet& params, const std::vector<TrainForward::ExpertLoad>& load,
                                              double gamma);

}  // namespace whale
