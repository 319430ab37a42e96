#include "train/transformer.h"

#include <unordered_map>

#include "core/error.h"
#include "model/routing.h"
#include "train/autograd/ops.h"

namespace whale {

using ag::Var;

struct Transformer::Context {
  ag::Graph& g;
  int64_t batch = 0, n = 0;
  std::vector<int64_t> pos;                  // [n] position of each token in its sequence
  std::unordered_map<std::string, Var> vars;  // parameter leaves, one per name
  bool balance = false;
  std::vector<Var> balance_losses;
  std::vector<TrainForward::ExpertLoad> expert_load;
};

std::vector<int32_t> shifted_targets(std::span<const int32_t> ids, int64_t batch, int64_t shift) {
  const int64_t T = int64_t(ids.size()) / batch;
  std::vector<int32_t> out(ids.size(), -1);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t + shift < T; ++t) out[size_t(b * T + t)] = ids[size_t(b * T + t + shift)];
  return out;
}

Transformer::Transformer(ParamSet& params) : params_(params) {
  const ModelConfig& c = params.config();
  // Its q_norm / k_norm are in the inference model only (the one-recipe work will bring them here).
  if (c.qk_norm) fail("training {} models is not supported yet (inference only)", c.model_type);
  rope_ = c.is_mla() ? Rope(c.rope, c.qk_rope_head_dim, RopeLayout::Interleaved) : Rope(c.rope, c.d_head, RopeLayout::NeoX);
}

Var Transformer::param(Context& ctx, const std::string& name) {
  auto it = ctx.vars.find(name);
  if (it != ctx.vars.end()) return it->second;
  Var v = ctx.g.param(params_.at(name));
  ctx.vars.emplace(name, v);
  return v;
}

Var Transformer::linear(Context& ctx, Var x, const std::string& name, bool bias) {
  return ag::linear(ctx.g, x, param(ctx, name + ".weight"), bias ? param(ctx, name + ".bias") : Var{});
}

Var Transformer::mlp(Context& ctx, const std::string& prefix, Var h, bool bias) {
  Var gate = linear(ctx, h, prefix + ".gate_proj", bias), up = linear(ctx, h, prefix + ".up_proj", bias);
  return linear(ctx, ag::silu_mul(ctx.g, gate, up), prefix + ".down_proj", bias);
}

Var Transformer::attention_mla(Context& ctx, const std::string& a, Var h) {
  const ModelConfig& c = params_.config();
  ag::Graph& g = ctx.g;
  const int64_t n = ctx.n, H = c.n_head, nope = c.qk_nope_head_dim, rope = c.qk_rope_head_dim, dv = c.v_head_dim;
  Var q = c.q_lora_rank > 0
              ? linear(ctx, ag::rmsnorm(g, linear(ctx, h, a + "q_a_proj", false), param(ctx, a + "q_a_layernorm.weight"),
                                        float(c.rms_eps)),
                       a + "q_b_proj", false)
              : linear(ctx, h, a + "q_proj", false);
  q = ag::reshape(g, q, {n, H, c.qk_head_dim()});  // [n, H, nope + rope]
  Var q_pe = ag::rope(g, ag::slice(g, q, nope, rope), rope_, ctx.pos);
  Var kv = linear(ctx, h, a + "kv_a_proj_with_mqa", false);  // [n, kv_lora + rope]
  // kv_a_layernorm normalises only the latent; the rope key bypasses it and is shared by every head.
  Var latent = ag::rmsnorm(g, ag::slice(g, kv, 0, c.kv_lora_rank), param(ctx, a + "kv_a_layernorm.weight"), float(c.rms_eps));
  Var k_pe = ag::rope(g, ag::reshape(g, ag::slice(g, kv, c.kv_lora_rank, rope), {n, 1, rope}), rope_, ctx.pos);
  Var kvb = ag::reshape(g, linear(ctx, latent, a + "kv_b_proj", false), {n, H, nope + dv});
  Var q_full = ag::concat(g, ag::slice(g, q, 0, nope), q_pe);
  Var k_full = ag::concat(g, ag::slice(g, kvb, 0, nope), ag::expand_heads(g, k_pe, H));
  Var o = ag::attention(g, q_full, k_full, ag::slice(g, kvb, nope, dv), ctx.batch, float(c.attention_scale()));
  return linear(ctx, ag::reshape(g, o, {n, H * dv}), a + "o_proj", false);
}

Var Transformer::attention_gqa(Context& ctx, const std::string& a, Var h) {
  const ModelConfig& c = params_.config();
  ag::Graph& g = ctx.g;
  const int64_t n = ctx.n, dh = c.d_head;
  Var q = ag::rope(g, ag::reshape(g, linear(ctx, h, a + "q_proj", c.qkv_bias), {n, c.n_head, dh}), rope_, ctx.pos);
  Var k = ag::rope(g, ag::reshape(g, linear(ctx, h, a + "k_proj", c.qkv_bias), {n, c.n_kv_head, dh}), rope_, ctx.pos);
  Var v = ag::reshape(g, linear(ctx, h, a + "v_proj", c.qkv_bias), {n, c.n_kv_head, dh});
  Var o = ag::attention(g, q, k, v, ctx.batch, float(c.attention_scale()));
  return linear(ctx, ag::reshape(g, o, {n, c.n_head * dh}), a + "o_proj", c.o_bias);
}

Var Transformer::moe(Context& ctx, const std::string& m, Var h) {
  const ModelConfig& c = params_.config();
  ag::Graph& g = ctx.g;
  const int64_t n = ctx.n, E = c.n_routed_experts, k = c.top_k;
  Var logits = linear(ctx, h, m + "gate", false);  // [n, E]
  Var scores = c.scoring_func == ScoringFunc::Softmax ? ag::softmax(g, logits) : ag::sigmoid(g, logits);

  // Expert selection is discrete (the inference router, bias included); gradients flow through the
  // selected experts' gate weights into the router, as in the reference.
  const Param* bias = params_.find(m + "gate.e_score_correction_bias");
  std::vector<int32_t> idx(static_cast<size_t>(n * k));
  std::vector<float> unused_weight(static_cast<size_t>(k)), scratch(size_t(2 * E));
  for (int64_t i = 0; i < n; ++i)
    route_token(c, g.value(logits) + i * E, bias ? bias->value.data() : nullptr, idx.data() + i * k,
                unused_weight.data(), scratch.data());
  const bool normalize = c.norm_topk_prob && k > 1;
  // V3 scales after normalising; V2 scales only unnormalised weights (config key routed_scaling_factor).
  const float scale = (c.arch == Arch::DeepseekV3 || !normalize) ? float(c.routed_scaling_factor) : 1.0f;
  Var weights = ag::routing_weights(g, scores, idx, k, normalize, scale);  // [n, k]

  // Group the (token, slot) assignments by expert, run each expert on its rows, scatter back.
  std::vector<std::vector<int64_t>> assigned(static_cast<size_t>(E));  // expert → token * k + slot
  for (int64_t a = 0; a < n * k; ++a) assigned[size_t(idx[size_t(a)])].push_back(a);
  std::vector<Var> outputs;
  std::vector<int64_t> rows, slots;
  for (int64_t e = 0; e < E; ++e) {
    if (assigned[size_t(e)].empty()) continue;
    std::vector<int64_t> tok;
    for (int64_t a : assigned[size_t(e)]) tok.push_back(a / k);
    outputs.push_back(mlp(ctx, m + "experts." + std::to_string(e), ag::gather_rows(g, h, tok), false));
    rows.insert(rows.end(), tok.begin(), tok.end());
    slots.insert(slots.end(), assigned[size_t(e)].begin(), assigned[size_t(e)].end());
  }
  Var routed = ag::scatter_add_rows(g, ag::scale_rows(g, ag::concat_rows(g, outputs), weights, slots), rows, n);
  Var out = c.n_shared_experts > 0 ? ag::add(g, routed, mlp(ctx, m + "shared_experts", h, false)) : routed;

  if (ctx.balance) ctx.balance_losses.push_back(ag::sequence_balance_loss(g, scores, idx, k, ctx.batch));
  std::vector<int64_t> load(size_t(E), 0);
  for (int32_t e : idx) ++load[size_t(e)];
  ctx.expert_load.push_back({m + "gate", std::move(load)});
  return out;
}

Var Transformer::block(Context& ctx, int64_t layer, Var x) {
  const ModelConfig& c = params_.config();
  ag::Graph& g = ctx.g;
  const std::string p = "model.layers." + std::to_string(layer) + ".";
  Var h = ag::rmsnorm(g, x, param(ctx, p + "input_layernorm.weight"), float(c.rms_eps));
  x = ag::add(g, x, c.is_mla() ? attention_mla(ctx, p + "self_attn.", h) : attention_gqa(ctx, p + "self_attn.", h));
  h = ag::rmsnorm(g, x, param(ctx, p + "post_attention_layernorm.weight"), float(c.rms_eps));
  return ag::add(g, x, c.is_moe_layer(layer) ? moe(ctx, p + "mlp.", h) : mlp(ctx, p + "mlp", h, c.mlp_bias));
}

TrainForward Transformer::forward(ag::Graph& g, std::span<const int32_t> ids, int64_t batch,
                                  const TrainForwardOptions& options) {
  const ModelConfig& c = params_.config();
  if (batch <= 0 || ids.empty() || int64_t(ids.size()) % batch != 0)
    fail("train forward: {} token ids do not split into {} sequences", ids.size(), batch);
  if (options.mtp && !params_.has_mtp()) fail("train forward: MTP asked for, but the parameters have no MTP module");
  Context ctx{.g = g, .batch = batch, .n = int64_t(ids.size()), .pos = {}, .vars = {}, .balance = options.balance_loss,
              .balance_losses = {}, .expert_load = {}};
  const int64_t T = ctx.n / batch;
  if (T > c.max_position && c.max_position > 0)
    fail("train forward: sequence length {} exceeds max_position_embeddings {}", T, c.max_position);
  ctx.pos.resize(size_t(ctx.n));
  for (int64_t i = 0; i < ctx.n; ++i) ctx.pos[size_t(i)] = i % T;

  Var embed = param(ctx, "model.embed_tokens.weight");
  Var head = c.tie_word_embeddings ? embed : param(ctx, "lm_head.weight");
  Var x = ag::embedding(g, embed, ids);  // [n, d]
  for (int64_t l = 0; l < c.n_layer; ++l) x = block(ctx, l, x);
  Var hidden = ag::rmsnorm(g, x, param(ctx, "model.norm.weight"), float(c.rms_eps));

  TrainForward out;
  out.logits = ag::linear(g, hidden, head);
  if (options.mtp) {
    // Depth-1 MTP (DeepSeek-V3 §2.2): position t combines the embedding of token t + 1 with the main
    // model's hidden state at t, runs one more block, and predicts token t + 2 through the shared head.
    const std::string p = "model.layers." + std::to_string(c.n_layer) + ".";
    std::vector<int32_t> next(ids.begin(), ids.end());
    for (int64_t i = 0; i < ctx.n; ++i)
      if (i % T + 1 < T) next[size_t(i)] = ids[size_t(i + 1)];  // the last position keeps its own token: unused
    Var e = ag::rmsnorm(g, ag::embedding(g, embed, next), param(ctx, p + "enorm.weight"), float(c.rms_eps));
    Var hn = ag::rmsnorm(g, hidden, param(ctx, p + "hnorm.weight"), float(c.rms_eps));
    Var m = ag::linear(g, ag::concat(g, e, hn), param(ctx, p + "eh_proj.weight"));
    m = block(ctx, c.n_layer, m);
    out.mtp_logits = ag::linear(g, ag::rmsnorm(g, m, param(ctx, p + "shared_head.norm.weight"), float(c.rms_eps)), head);
  }
  if (!ctx.balance_losses.empty()) {
    Var total = ctx.balance_losses[0];
    for (size_t i = 1; i < ctx.balance_losses.size(); ++i) total = ag::add(g, total, ctx.balance_losses[i]);
    out.balance_loss = ag::scale(g, total, 1.0f / float(ctx.balance_losses.size()));
  }
  out.expert_load = std::move(ctx.expert_load);
  return out;
}

}  // namespace whale
