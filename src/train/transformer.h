// The training forward pass of every supported architecture, built from differentiable ops on a tape
// (autograd/): the same math as src/model (which serves from a KV cache), over f32 master weights.
// Shape legend: n = batch × seq tokens, d = hidden size, E = routed experts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/rope.h"
#include "train/autograd/graph.h"
#include "train/params.h"

namespace whale {

struct TrainForwardOptions {
  bool mtp = false;             // also run the MTP module (needs ParamSet::has_mtp)
  bool balance_loss = false;    // compute the sequence-wise balance loss of every MoE layer
};

struct TrainForward {
  ag::Var logits;          // [n, vocab]
  ag::Var mtp_logits;      // [n, vocab]: position t predicts token t + 2 (undefined without MTP)
  ag::Var balance_loss;    // [1] mean over MoE layers of the sequence-wise balance loss (undefined if off/none)
  // Per MoE layer (main model, then MTP): how many tokens selected each expert.
  struct ExpertLoad {
    std::string router;          // "model.layers.<i>.mlp.gate"
    std::vector<int64_t> count;  // [E]
  };
  std::vector<ExpertLoad> expert_load;
};

class Transformer {
 public:
  explicit Transformer(ParamSet& params);

  // ids [batch × seq], sequences from position 0.
  TrainForward forward(ag::Graph& g, std::span<const int32_t> ids, int64_t batch,
                       const TrainForwardOptions& options = {});

  ParamSet& params() { return params_; }

 private:
  struct Context;  // per-forward state: tape, positions, routing statistics
  ag::Var block(Context& ctx, int64_t layer, ag::Var x);
  ag::Var attention_mla(Context& ctx, const std::string& prefix, ag::Var h);
  ag::Var attention_gqa(Context& ctx, const std::string& prefix, ag::Var h);
  ag::Var mlp(Context& ctx, const std::string& prefix, ag::Var h, bool bias);
  ag::Var moe(Context& ctx, const std::string& prefix, ag::Var h);
  ag::Var param(Context& ctx, const std::string& name);
  ag::Var linear(Context& ctx, ag::Var x, const std::string& name, bool bias);

  ParamSet& params_;
  Rope rope_;
};

// Next-token targets for ids [batch × seq]: ids[t + shift] within each sequence, −1 past its end.
std::vector<int32_t> shifted_targets(std::span<const int32_t> ids, int64_t batch, int64_t shift);

}  // namespace whale
