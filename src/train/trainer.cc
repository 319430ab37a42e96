#include "train/trainer.h"

#include <cblas.h>

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "io/json_file.h"
#include "tokenizer/tokenizer.h"
#include "train/autograd/ops.h"
#include "train/balance.h"
#include "train/checkpoint.h"
#include "train/interrupt.h"
#include "train/metrics.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace whale {
namespace {

// Inputs [batch, T] and targets for a window batch [batch, T + 1]; −1 marks positions without a target.
struct Targets {
  std::vector<int32_t> inputs, next, after_next;
};

Targets make_targets(const Batch& b) {
  const int64_t T = b.seq_len, W = T + 1;
  Targets t;
  for (int64_t r = 0; r < b.batch; ++r)
    for (int64_t i = 0; i < T; ++i) {
      const int64_t w = r * W + i;
      auto target = [&](int64_t at) { return b.mask.empty() || b.mask[size_t(at)] ? b.tokens[size_t(at)] : -1; };
      t.inputs.push_back(b.tokens[size_t(w)]);
      t.next.push_back(target(w + 1));
      t.after_next.push_back(i + 2 <= T ? target(w + 2) : -1);
    }
  return t;
}

bool any_target(const std::vector<int32_t>& t) {
  return std::any_of(t.begin(), t.end(), [](int32_t x) { return x >= 0; });
}

ParamSet load_or_init(const TrainConfig& c, const std::optional<std::filesystem::path>& resume_from) {
  if (resume_from) return ParamSet::from_checkpoint(*resume_from, c.model.mtp);
  if (!c.model.checkpoint.empty()) return ParamSet::from_checkpoint(c.model.checkpoint, c.model.mtp, c.train.seed);
  return ParamSet::initialize(read_json_file(c.model.init), c.model.mtp, c.train.seed);
}

double mean_eval_loss(Transformer& model, ThreadPool& pool, const DataLoader& data, const TrainConfig& c) {
  const int64_t n = std::min<int64_t>(c.train.eval_batches, std::max<int64_t>(1, data.eval_windows() / c.train.batch_size));
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += batch_loss(model, pool, data.eval_batch(i), c.moe, false, 0.0f).ce;
  return total / double(n);
}

}  // namespace

BatchLoss batch_loss(Transformer& model, ThreadPool& pool, const Batch& batch, const TrainConfig::Moe& moe, bool mtp,
                     float backward_scale) {
  Targets t = make_targets(batch);
  ag::Graph g(pool);  // one tape per micro-batch: activations are freed when it goes out of scope
  const bool balance = moe.seq_aux_alpha > 0 && model.params().config().n_routed_experts > 0;
  TrainForward f = model.forward(g, t.inputs, batch.batch, {.mtp = mtp, .balance_loss = balance});
  BatchLoss out;
  if (!any_target(t.next)) return out;  // e.g. an SFT window without assistant tokens: nothing to learn
  ag::Var loss = ag::cross_entropy(g, f.logits, t.next);
  out.ce = g.item(loss);
  if (mtp && any_target(t.after_next)) {
    ag::Var mtp_loss = ag::cross_entropy(g, f.mtp_logits, t.after_next);
    out.mtp = g.item(mtp_loss);
    loss = ag::add(g, loss, ag::scale(g, mtp_loss, float(moe.mtp_lambda)));
  }
  if (f.balance_loss.defined()) {
    out.balance = g.item(f.balance_loss);
    loss = ag::add(g, loss, ag::scale(g, f.balance_loss, float(moe.seq_aux_alpha)));
  }
  out.total = g.item(loss);
  out.expert_load = std::move(f.expert_load);
  if (backward_scale > 0 && std::isfinite(out.total)) g.backward(ag::scale(g, loss, backward_scale));
  return out;
}

double training_flops_per_token(const ModelConfig& c, int64_t seq_len, bool mtp) {
  // Forward matmul FLOPs = 2 × weights touched per token (only top_k of the routed experts).
  double attn_w = 0, attn_scores = 0;
  if (c.is_mla()) {
    const double q = c.q_lora_rank > 0 ? double(c.q_lora_rank) * (c.d_model + c.n_head * c.qk_head_dim())
                                       : double(c.d_model) * c.n_head * c.qk_head_dim();
    attn_w = q + double(c.d_model) * (c.kv_lora_rank + c.qk_rope_head_dim) +
             double(c.kv_lora_rank) * c.n_head * (c.qk_nope_head_dim + c.v_head_dim) +
             double(c.n_head) * c.v_head_dim * c.d_model;
    attn_scores = double(c.n_head) * (c.qk_head_dim() + c.v_head_dim);
  } else {
    attn_w = double(c.d_model) * c.d_head * (2 * c.n_head + 2 * c.n_kv_head);
    attn_scores = double(c.n_head) * 2 * c.d_head;
  }
  auto ffn = [&](int64_t layer) {
    if (!c.is_moe_layer(layer)) return 3.0 * c.d_model * c.d_ff;
    return 3.0 * c.d_model * c.d_expert * double(c.top_k + c.n_shared_experts) + double(c.d_model) * c.n_routed_experts;
  };
  const int64_t blocks = c.n_layer + (mtp ? 1 : 0);
  double per_token = 0;
  for (int64_t l = 0; l < blocks; ++l) per_token += 2 * (attn_w + ffn(l)) + 2 * attn_scores * double(seq_len + 1) / 2;
  per_token += 2.0 * c.d_model * c.vocab_size * (mtp ? 2 : 1);  // output head(s)
  if (mtp) per_token += 2.0 * 2 * c.d_model * c.d_model;        // eh_proj
  return 3 * per_token;
}

TrainSummary run_training(const TrainConfig& c, const TrainRunOptions& options) {
  const std::filesystem::path tokenizer = !c.model.tokenizer.empty() ? c.model.tokenizer : c.model.checkpoint;
  load_checkpoint_tokenizer(tokenizer);  // the checkpoints copy it: a bad one fails now, not at the first save
  RunDirectory run(c.train.out, c.train.keep_checkpoints);
  std::optional<std::filesystem::path> resume_from;
  if (options.resume) {
    resume_from = run.latest();
    if (!resume_from) fail("--resume: no checkpoint in {}", c.train.out.string());
  }
  ParamSet params = load_or_init(c, resume_from);
  const ModelConfig& mc = params.config();

  DataLoader data(c.data.train, c.train.seq_len, c.train.batch_size, c.train.seed, c.data.eval_fraction);
  if (data.vocab_size() > uint32_t(mc.vocab_size))
    fail("{}: token ids go up to vocab size {}, but the model's vocab_size is {}", c.data.train.string(),
         data.vocab_size(), mc.vocab_size);
  if (c.data.kind == DataKind::kSft && !data.has_mask())
    fail("{}: [data] kind = \"sft\" needs a token file with a loss mask (built from chat JSONL)", c.data.train.string());

  AdamW optimizer(c.adamw());
  LrSchedule schedule(c.schedule());
  int64_t step = 0;
  if (resume_from) {
    optimizer.load(*resume_from / "optimizer.safetensors", params);
    nlohmann::json state = read_trainer_state(*resume_from);
    step = state.at("step").get<int64_t>();
    data.restore(DataLoaderState::from_json(state.at("data")));
  }

  ThreadPool pool(c.train.threads);
  openblas_set_num_threads(int(pool.size()));
  Transformer model(params);
  MetricsLog metrics(c.train.out / "metrics.jsonl", resume_from ? std::optional<int64_t>(step) : std::nullopt);
  ProgressLine progress(step);
  install_interrupt_handler();

  TrainSummary summary;
  summary.first_step = step;
  const int64_t tokens_per_step = c.train.batch_size * c.train.seq_len * c.train.grad_accum;
  const double flops_per_token = training_flops_per_token(mc, c.train.seq_len, c.model.mtp);
  auto save = [&](int64_t at) {
    nlohmann::json state = {{"step", at}, {"data", data.state().to_json()}, {"tokens", at * tokens_per_step}};
    if (summary.eval_loss) state["eval_loss"] = *summary.eval_loss;
    summary.checkpoint = run.save(at, [&](const std::filesystem::path& dir) {
      write_training_checkpoint(dir, {params, optimizer, state, tokenizer});
    });
  };

  const auto start = std::chrono::steady_clock::now();
  while (step < c.train.steps) {
    const auto step_start = std::chrono::steady_clock::now();
    params.zero_grad();
    BatchLoss sum;
    std::vector<TrainForward::ExpertLoad> load;
    for (int64_t micro = 0; micro < c.train.grad_accum; ++micro) {
      BatchLoss l = batch_loss(model, pool, data.next(), c.moe, c.model.mtp, 1.0f / float(c.train.grad_accum));
      if (!std::isfinite(l.total))
        fail("loss is {} at step {}: stopping; the last good checkpoint is {}", l.total, step + 1,
             run.latest() ? run.latest()->string() : "none (no checkpoint was written yet)");
      sum.ce += l.ce / double(c.train.grad_accum);
      sum.mtp += l.mtp / double(c.train.grad_accum);
      sum.balance += l.balance / double(c.train.grad_accum);
      accumulate_expert_load(load, l.expert_load);
    }
    const double grad_norm = clip_grad_norm(params, c.optim.grad_clip);
    if (!std::isfinite(grad_norm))
      fail("gradient norm is {} at step {}: stopping; the last good checkpoint is {}", grad_norm, step + 1,
           run.latest() ? run.latest()->string() : "none");
    const double lr = schedule.lr_at(step);
    optimizer.step(params, lr, &pool);
    std::vector<LayerBalance> balance = update_routing_bias(params, load, c.moe.bias_update_rate);
    ++step;

    const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    if (step == summary.first_step + 1) summary.first_loss = sum.ce;
    summary.last_loss = sum.ce;
    nlohmann::json record = {{"step", step},         {"tokens", step * tokens_per_step},
                             {"loss", sum.ce},       {"lr", lr},
                             {"grad_norm", grad_norm}, {"tokens_per_s", double(tokens_per_step) / step_s}};
    if (c.model.mtp) record["mtp_loss"] = sum.mtp;
    if (c.moe.seq_aux_alpha > 0 && !balance.empty()) record["balance_loss"] = sum.balance;
    if (!balance.empty()) {
      double worst = 1;
      nlohmann::json per_layer = nlohmann::json::object();
      for (const LayerBalance& b : balance) per_layer[b.router] = b.imbalance, worst = std::max(worst, b.imbalance);
      record["max_load_imbalance"] = worst;
      record["load_imbalance"] = per_layer;
    }
    const bool eval_now = c.train.eval_interval > 0 && (step % c.train.eval_interval == 0 || step == c.train.steps);
    if (eval_now && data.eval_windows() > 0) {
      summary.eval_loss = mean_eval_loss(model, pool, data, c);
      record["eval_loss"] = *summary.eval_loss;
    }
    if (step % c.train.log_interval == 0 || eval_now || step == c.train.steps) metrics.write(record);
    if (options.progress)
      progress.update({.step = step, .total_steps = c.train.steps, .loss = sum.ce, .lr = lr,
                       .tokens_per_s = double(tokens_per_step) / step_s, .eval_loss = summary.eval_loss});
    const bool interrupted = interrupt_requested();
    if (interrupted || step == c.train.steps || (c.train.checkpoint_interval > 0 && step % c.train.checkpoint_interval == 0))
      save(step);
    if (interrupted) {
      summary.interrupted = true;
      break;
    }
  }
  if (options.progress) progress.finish();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.steps_done = step;
  const double tokens = double((step - summary.first_step) * tokens_per_step);
  summary.tokens_per_s = seconds > 0 ? tokens / seconds : 0;
  summary.gflops = summary.tokens_per_s * flops_per_token / 1e9;
  return summary;
}

}  // namespace whale
