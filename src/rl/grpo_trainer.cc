#include "rl/grpo_trainer.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "rl/policy_loss.h"
#include "rl/rollout.h"
#include "train/checkpoint.h"
#include "train/interrupt.h"
#include "train/metrics.h"
#include "train/optimizer.h"
#include "train/params.h"
#include "train/schedule.h"

namespace whale::rl {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A generator for (seed, step, stream): problem draws and sampling seeds depend only on these, so a resumed
// run draws exactly what the uninterrupted run would have.
std::mt19937_64 step_rng(uint64_t seed, int64_t step, uint64_t stream) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(step), uint32_t(uint64_t(step) >> 32),
                    uint32_t(stream)};
  return std::mt19937_64(seq);
}

// The current parameters served by a fresh engine (weights are views, so nothing is copied).
class PolicyEngine {
 public:
  PolicyEngine(const ParamSet& params, ThreadPool& pool, int64_t slots, int64_t ctx, int64_t vocab_limit)
      : model_(params.config(), params.inference_weights(), pool),
        engine_(model_, {.n_slots = slots,
                         .ctx = std::min<int64_t>(ctx, params.config().max_position),
                         .vocab_limit = vocab_limit}) {}
  BatchEngine& engine() { return engine_; }

 private:
  Model model_;
  BatchEngine engine_;
};

int64_t longest_prompt(const PromptEncoder& prompts, std::span<const Problem> problems) {
  size_t n = 1;
  for (const Problem& p : problems) n = std::max(n, prompts.encode(p).ids.size());
  return int64_t(n);
}

// One rollout batch with its advantages.
struct RolloutBatch {
  std::vector<Problem> problems;
  std::vector<Rollout> rollouts;  // problem-major, G per problem
  Advantages advantages;
  int64_t drawn_groups = 0, all_equal_groups = 0;  // over every draw (dynamic sampling draws more)
};

// Means over every rollout drawn in a step (with dynamic sampling also the groups left out of the update, so
// that accuracy and length describe the policy, not the selection).
struct StepStats {
  double reward = 0, accuracy = 0, format = 0, length = 0, truncated = 0, reflection = 0;
  int64_t n = 0;

  void add(const std::vector<Rollout>& rollouts) {
    for (const Rollout& r : rollouts) {
      reward += r.reward.total;
      accuracy += r.reward.verification.verdict == Verdict::kCorrect ? 1 : 0;
      format += r.reward.format;
      length += double(r.completion.size());
      truncated += r.truncated ? 1 : 0;
      reflection += has_reflection(r.response) ? 1 : 0;
      ++n;
    }
  }
  double mean(double sum) const { return n > 0 ? sum / double(n) : 0.0; }
};

Advantages advantages_of(const std::vector<Rollout>& rollouts, int64_t group_size, const AdvantageConfig& config) {
  std::vector<float> rewards;
  std::vector<int64_t> group;
  for (size_t i = 0; i < rollouts.size(); ++i) {
    rewards.push_back(float(rollouts[i].reward.total));
    group.push_back(int64_t(i) / group_size);
  }
  return group_advantages(rewards, group, config);
}

}  // namespace

nlohmann::json eval_metrics_json(const EvalMetrics& m) {
  return {{"problems", m.n_problems},   {"samples", m.n_samples},         {"pass_at_1", m.pass_at_1},
          {"cons_at_k", m.cons_at_k},   {"pass_at_k", m.pass_at_k},       {"format_rate", m.format_rate},
          {"reflection_rate", m.reflection_rate}, {"mean_chars", m.mean_chars}};
}

GrpoSummary run_grpo(const GrpoConfig& c, const GrpoRunOptions& options) {
  const auto start = Clock::now();
  const Tokenizer tokenizer = load_checkpoint_tokenizer(c.model.tokenizer);  // before the slow loads
  RunDirectory run(c.train.out, c.train.keep_checkpoints);
  std::optional<std::filesystem::path> resume_from;
  if (options.resume) {
    resume_from = run.latest();
    if (!resume_from) fail("--resume: no checkpoint in {}", c.train.out.string());
  }
  // A checkpoint's MTP module (the draft head for speculative decoding) rides along frozen: GRPO's loss does not use
  // it, and the result must not claim a module (num_nextn_predict_layers) it lacks.
  const std::filesystem::path policy_dir = resume_from ? *resume_from : c.model.checkpoint;
  ParamSet params = ParamSet::from_checkpoint(policy_dir, ParamSet::checkpoint_has_mtp(policy_dir));
  params.freeze_mtp();
  if (tokenizer.vocab_size() > params.config().vocab_size)
    fail("{}: the tokenizer has {} tokens but the model's vocab_size is {}", c.model.tokenizer.string(),
         tokenizer.vocab_size(), params.config().vocab_size);
  if (tokenizer.eos_id() < 0) fail("{}: the tokenizer names no EOS token; rollouts could not stop", c.model.tokenizer.string());
  const PromptEncoder prompts(tokenizer, c.task.prompt);
  const std::unique_ptr<Task> task = make_task(c.task.name);

  ThreadPool pool(c.train.threads);
  openblas_set_num_threads(int(pool.size()));
  Transformer policy(params);
  // The frozen reference for the KL term: the starting checkpoint (also after a resume).
  std::optional<ParamSet> ref_params;
  std::optional<Transformer> reference;
  if (c.grpo.loss.beta > 0) {
    ref_params.emplace(ParamSet::from_checkpoint(c.model.checkpoint));
    for (Param& p : ref_params->params()) p.trained = false;
    reference.emplace(*ref_params);
  }

  AdamW optimizer(c.optim.adamw());
  const LrSchedule schedule(c.optim.schedule_config(c.optimizer_steps()));
  int64_t step = 0;
  if (resume_from) {
    optimizer.load(*resume_from / "optimizer.safetensors", params);
    step = read_trainer_state(*resume_from).at("step").get<int64_t>();
  }
  MetricsLog metrics(c.train.out / "metrics.jsonl", resume_from ? std::optional<int64_t>(step) : std::nullopt);
  ProgressLine progress(step);
  install_interrupt_handler();

  const int64_t G = c.rollout.group_size;
  const RolloutOptions rollout_options{
      .samples = G, .max_new_tokens = c.rollout.max_new_tokens,
      .sampling = {.temperature = c.rollout.temperature, .top_p = c.rollout.top_p}};
  const std::vector<Problem> eval_set = heldout_problems(*task, c.train.eval_problems, c.train.seed ^ 0x6576616cULL,
                                                         c.task.min_difficulty, c.task.max_difficulty);
  auto evaluate_now = [&] {
    PolicyEngine served(params, pool, c.rollout.slots, longest_prompt(prompts, eval_set) + c.rollout.max_new_tokens,
                        tokenizer.vocab_size());
    const RolloutOptions eval_options{
        .samples = c.train.eval_samples, .max_new_tokens = c.rollout.max_new_tokens,
        .sampling = {.temperature = c.train.eval_temperature, .top_p = c.train.eval_top_p, .seed = c.train.seed}};
    return evaluate_policy(served.engine(), prompts, *task, eval_set, eval_options);
  };
  auto log_eval = [&](int64_t at, const EvalMetrics& m) {
    metrics.write({{"step", at}, {"eval", eval_metrics_json(m)}, {"eval_pass_at_1", m.pass_at_1},
                   {"eval_cons_at_k", m.cons_at_k}});
    if (options.progress) {
      progress.finish();
      std::fprintf(stderr, "eval @ step %lld: pass@1 %.1f%% | cons@%lld %.1f%% | pass@%lld %.1f%% | format %.1f%%\n",
                   (long long)at, 100 * m.pass_at_1, (long long)c.train.eval_samples, 100 * m.cons_at_k,
                   (long long)c.train.eval_samples, 100 * m.pass_at_k, 100 * m.format_rate);
    }
  };

  GrpoSummary summary;
  summary.first_step = step;
  if (!resume_from) {
    summary.eval_before = evaluate_now();
    log_eval(0, *summary.eval_before);
  }
  auto save = [&](int64_t at) {
    summary.checkpoint = run.save(at, [&](const std::filesystem::path& dir) {
      write_training_checkpoint(dir, {params, optimizer, {{"step", at}, {"optimizer_steps", optimizer.step_count()}},
                                      c.model.tokenizer});
    });
  };

  while (step < c.train.steps) {
    const auto step_start = Clock::now();
    // Rollouts on the current policy.
    RolloutBatch batch;
    StepStats s;
    {
      std::vector<Rollout> kept;
      for (int64_t draw = 0; draw < (c.rollout.dynamic_sampling ? c.rollout.max_draws : 1); ++draw) {
        std::mt19937_64 rng = step_rng(c.train.seed, step, uint64_t(draw));
        std::vector<Problem> drawn;
        for (int64_t i = 0; i < c.rollout.prompts; ++i)
          drawn.push_back(task->draw(Split::kTrain, c.task.min_difficulty, c.task.max_difficulty, rng));
        PolicyEngine served(params, pool, c.rollout.slots, longest_prompt(prompts, drawn) + c.rollout.max_new_tokens,
                            tokenizer.vocab_size());
        RolloutOptions ro = rollout_options;
        ro.sampling.seed = rng();
        std::vector<Rollout> rollouts = generate_rollouts(served.engine(), prompts, *task, drawn, ro, c.task.reward);
        s.add(rollouts);
        const Advantages adv = advantages_of(rollouts, G, c.grpo.advantages);
        batch.drawn_groups += adv.n_groups;
        batch.all_equal_groups += adv.n_all_equal;
        for (size_t p = 0; p < drawn.size(); ++p) {
          // Dynamic sampling keeps only groups with a learning signal; the last draw fills up if it must.
          const bool signal = !adv.all_equal_sample[p * size_t(G)];
          const bool last = draw + 1 == (c.rollout.dynamic_sampling ? c.rollout.max_draws : 1);
          if (c.rollout.dynamic_sampling && !signal && !last) continue;
          if (int64_t(batch.problems.size()) == c.rollout.prompts) break;
          for (int64_t s = 0; s < G; ++s) {
            Rollout r = std::move(rollouts[p * size_t(G) + size_t(s)]);
            r.problem = int64_t(batch.problems.size());
            batch.rollouts.push_back(std::move(r));
          }
          batch.problems.push_back(drawn[p]);
        }
        if (int64_t(batch.problems.size()) == c.rollout.prompts) break;
      }
      batch.advantages = advantages_of(batch.rollouts, G, c.grpo.advantages);
    }
    const double rollout_s = seconds_since(step_start);

    // Micro-batches of similar lengths (less padding); the loss of each is weighted so that their sum is the
    // aggregation over the whole batch.
    const auto train_start = Clock::now();
    const size_t N = batch.rollouts.size();
    std::vector<size_t> order(N);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return batch.rollouts[a].prompt.size() + batch.rollouts[a].completion.size() <
             batch.rollouts[b].prompt.size() + batch.rollouts[b].completion.size();
    });
    struct Micro {
      PolicyBatch batch;
      std::vector<float> advantages, old_logp, ref_logp;
      float weight = 0;
    };
    std::vector<Micro> micros;
    double total_tokens = 0;
    for (size_t begin = 0; begin < N; begin += size_t(c.grpo.micro_batch)) {
      const size_t end = std::min(N, begin + size_t(c.grpo.micro_batch));
      std::vector<const std::vector<int32_t>*> ps, cs;
      Micro m;
      for (size_t i = begin; i < end; ++i) {
        const Rollout& r = batch.rollouts[order[i]];
        ps.push_back(&r.prompt);
        cs.push_back(&r.completion);
        m.advantages.push_back(batch.advantages.values[order[i]]);
      }
      m.batch = policy_batch(ps, cs);
      total_tokens += std::accumulate(m.batch.mask.begin(), m.batch.mask.end(), 0.0);
      if (reference) m.ref_logp = target_logprobs(*reference, pool, m.batch);
      micros.push_back(std::move(m));
    }
    for (Micro& m : micros) {
      const double tokens = std::accumulate(m.batch.mask.begin(), m.batch.mask.end(), 0.0);
      m.weight = c.grpo.loss.aggregation == Aggregation::kTokenMean ? float(tokens / std::max(1.0, total_tokens))
                                                                    : float(double(m.batch.n_seq) / double(N));
    }

    GrpoStats stats;  // of the last epoch, token-weighted over micro-batches
    double loss = 0, entropy = 0, grad_norm = 0, lr = 0;
    for (int64_t epoch = 0; epoch < c.grpo.epochs; ++epoch) {
      params.zero_grad();
      stats = {};
      loss = entropy = 0;
      for (Micro& m : micros) {
        PolicyLoss l = policy_loss(policy, pool, m.batch, m.old_logp, m.ref_logp, m.advantages, c.grpo.loss, m.weight);
        if (!std::isfinite(l.grpo.loss))
          fail("GRPO loss is {} at step {}: stopping; the last good checkpoint is {}", l.grpo.loss, step + 1,
               run.latest() ? run.latest()->string() : "none (no checkpoint was written yet)");
        if (epoch == 0 && c.grpo.epochs > 1) m.old_logp = std::move(l.logp);
        loss += m.weight * l.grpo.loss;
        entropy += l.entropy_sum;
        const double w = double(l.grpo.stats.n_tokens);
        stats.clip_fraction += w * l.grpo.stats.clip_fraction;
        stats.clip_fraction_low += w * l.grpo.stats.clip_fraction_low;
        stats.clip_fraction_high += w * l.grpo.stats.clip_fraction_high;
        stats.mean_kl += w * l.grpo.stats.mean_kl;
        stats.n_tokens += l.grpo.stats.n_tokens;
      }
      grad_norm = clip_grad_norm(params, c.optim.grad_clip);
      if (!std::isfinite(grad_norm))
        fail("gradient norm is {} at step {}: stopping; the last good checkpoint is {}", grad_norm, step + 1,
             run.latest() ? run.latest()->string() : "none");
      lr = schedule.lr_at(optimizer.step_count());
      optimizer.step(params, lr, &pool);
    }
    ++step;
    const double tokens = std::max<double>(1, double(stats.n_tokens));
    const double step_s = seconds_since(step_start);
    if (step == summary.first_step + 1) summary.first_reward = s.mean(s.reward);
    summary.last_reward = s.mean(s.reward);
    const double all_equal = double(batch.all_equal_groups) / double(std::max<int64_t>(1, batch.drawn_groups));
    metrics.write({{"step", step},
                   {"reward", s.mean(s.reward)},
                   {"accuracy", s.mean(s.accuracy)},
                   {"format", s.mean(s.format)},
                   {"response_length", s.mean(s.length)},
                   {"truncated", s.mean(s.truncated)},
                   {"reflection_rate", s.mean(s.reflection)},
                   {"rollouts", s.n},
                   {"all_equal_groups", all_equal},
                   {"loss", loss},
                   {"kl", stats.mean_kl / tokens},
                   {"clip_fraction", stats.clip_fraction / tokens},
                   {"clip_fraction_low", stats.clip_fraction_low / tokens},
                   {"clip_fraction_high", stats.clip_fraction_high / tokens},
                   {"entropy", entropy / tokens},
                   {"grad_norm", grad_norm},
                   {"lr", lr},
                   {"rollout_s", rollout_s},
                   {"train_s", seconds_since(train_start)},
                   {"step_s", step_s}});
    if (options.progress)
      progress.print(fmt::format("step {}/{} | reward {:.3f} | acc {:.1f}% | len {:.0f} | kl {:.4f} | clip {:.1f}% | "
                                 "H {:.2f} | eq {:.0f}% | refl {:.0f}% | {:.1f}s/step | ETA {}",
                                 step, c.train.steps, s.mean(s.reward), 100 * s.mean(s.accuracy), s.mean(s.length),
                                 stats.mean_kl / tokens, 100 * stats.clip_fraction / tokens, entropy / tokens,
                                 100 * all_equal, 100 * s.mean(s.reflection), step_s, format_duration(progress.eta(step, c.train.steps))));
    const bool interrupted = interrupt_requested();
    if (c.train.eval_interval > 0 && step % c.train.eval_interval == 0 && step != c.train.steps && !interrupted)
      log_eval(step, evaluate_now());
    if (interrupted || step == c.train.steps ||
        (c.train.checkpoint_interval > 0 && step % c.train.checkpoint_interval == 0))
      save(step);
    if (interrupted) {
      summary.interrupted = true;
      break;
    }
  }
  if (!summary.interrupted) {
    summary.eval_after = evaluate_now();
    log_eval(step, *summary.eval_after);
  }
  if (options.progress) progress.finish();
  summary.steps_done = step;
  summary.seconds = seconds_since(start);
  return summary;
}

}  // namespace whale::rl
