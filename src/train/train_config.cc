#include "train/train_config.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "core/regular_file.h"

namespace whale {

namespace {

namespace fs = std::filesystem;
using std::string_view_literals::operator""sv;

constexpr std::array kSections = {"model"sv, "data"sv, "train"sv, "optim"sv, "moe"sv};
constexpr std::array kModelKeys = {"init"sv, "checkpoint"sv, "tokenizer"sv, "mtp"sv};
constexpr std::array kDataKeys = {"train"sv, "eval_fraction"sv, "kind"sv};
constexpr std::array kTrainKeys = {"seq_len"sv, "batch_tokens"sv, "batch_size"sv, "grad_accum"sv, "steps"sv,
                                   "tokens"sv, "seed"sv, "threads"sv, "eval_interval"sv, "eval_batches"sv,
                                   "checkpoint_interval"sv, "keep_checkpoints"sv, "log_interval"sv, "out"sv};
constexpr std::array kOptimKeys = {"lr"sv, "min_lr"sv, "warmup_steps"sv, "schedule"sv, "decay_fraction"sv,
                                   "decay_shape"sv, "beta1"sv, "beta2"sv, "eps"sv, "weight_decay"sv, "grad_clip"sv};
constexpr std::array kMoeKeys = {"bias_update_rate"sv, "seq_aux_alpha"sv, "mtp_lambda"sv};

DataKind parse_data_kind(const std::string& text, const std::string& what) {
  if (text == "pretrain") return DataKind::kPretrain;
  if (text == "sft") return DataKind::kSft;
  fail("{}: unknown kind '{}' (expected \"pretrain\" or \"sft\")", what, text);
}

constexpr int64_t kMaxInt = int64_t(1) << 53;

}  // namespace

ScheduleConfig OptimConfig::schedule_config(int64_t total_steps) const {
  return {.kind = schedule, .lr = lr, .min_lr = min_lr, .warmup_steps = warmup_steps, .total_steps = total_steps,
          .decay_fraction = decay_fraction, .decay_shape = decay_shape};
}

AdamWConfig OptimConfig::adamw() const {
  return {.beta1 = beta1, .beta2 = beta2, .eps = eps, .weight_decay = weight_decay};
}

TomlKeys optim_keys() { return kOptimKeys; }

OptimConfig parse_optim(const TomlSection& optim, int64_t total_steps, const OptimConfig& d) {
  OptimConfig o;
  o.lr = optim.number("lr", d.lr, 0.0, 10.0, /*lo_open=*/true);
  o.min_lr = optim.number("min_lr", o.lr / 10, 0.0, o.lr);
  o.warmup_steps = optim.integer("warmup_steps", d.warmup_steps, 0, total_steps);
  o.schedule = optim.choice("schedule", schedule_kind_name(d.schedule), parse_schedule_kind);
  o.decay_fraction = optim.number("decay_fraction", d.decay_fraction, 0.0, 1.0, /*lo_open=*/true);
  o.decay_shape = optim.choice("decay_shape", decay_shape_name(d.decay_shape), parse_decay_shape);
  o.beta1 = optim.number("beta1", d.beta1, 0.0, 1.0, false, /*hi_open=*/true);
  o.beta2 = optim.number("beta2", d.beta2, 0.0, 1.0, false, /*hi_open=*/true);
  o.eps = optim.number("eps", d.eps, 0.0, 1.0, /*lo_open=*/true);
  o.weight_decay = optim.number("weight_decay", d.weight_decay, 0.0, 10.0);
  o.grad_clip = optim.number("grad_clip", d.grad_clip, 0.0, 1e9);
  return o;
}

ScheduleConfig TrainConfig::schedule() const { return optim.schedule_config(train.steps); }
AdamWConfig TrainConfig::adamw() const { return optim.adamw(); }

TrainConfig load_train_config(const fs::path& file) { return parse_train_config(read_regular_file(file), file); }

TrainConfig parse_train_config(std::string_view toml_text, const fs::path& source) {
  const toml::table root = parse_toml_sections(toml_text, source, kSections);
  TrainConfig c;
  c.source = source;
  const TomlSection model(root["model"].as_table(), "model", source, kModelKeys);
  const TomlSection data(root["data"].as_table(), "data", source, kDataKeys);
  const TomlSection train(root["train"].as_table(), "train", source, kTrainKeys);
  const TomlSection optim(root["optim"].as_table(), "optim", source, kOptimKeys);
  const TomlSection moe(root["moe"].as_table(), "moe", source, kMoeKeys);

  if (model.exactly_one("init", "checkpoint")) c.model.init = model.path("init");
  else c.model.checkpoint = model.path("checkpoint");
  c.model.tokenizer = model.has("tokenizer") ? model.path("tokenizer") : c.model.checkpoint;
  if (c.model.tokenizer.empty()) fail("{}: [model] tokenizer is required with init", model.where("init"));
  c.model.mtp = model.boolean("mtp", false);

  if (!data.has("train")) fail("{}: [data] train (a token file from `whale data build`) is required", source.string());
  c.data.train = data.path("train");
  c.data.eval_fraction = data.number("eval_fraction", 0.01, 0.0, 1.0, false, /*hi_open=*/true);
  c.data.kind = data.choice("kind", "pretrain", parse_data_kind);

  auto& t = c.train;
  t.seq_len = train.integer("seq_len", 512, 1, 1 << 20);
  t.grad_accum = train.integer("grad_accum", 1, 1, 1 << 20);
  const int64_t per_sequence_step = t.seq_len * t.grad_accum;
  if (train.exactly_one("batch_tokens", "batch_size")) {
    t.batch_tokens = train.integer("batch_tokens", 0, 1, kMaxInt);
    if (t.batch_tokens % per_sequence_step != 0)
      fail("{}: [train] batch_tokens = {} is not a multiple of seq_len × grad_accum = {}", train.where("batch_tokens"),
           t.batch_tokens, per_sequence_step);
    t.batch_size = t.batch_tokens / per_sequence_step;
  } else {
    t.batch_size = train.integer("batch_size", 0, 1, 1 << 20);
    t.batch_tokens = t.batch_size * per_sequence_step;
  }
  if (train.exactly_one("steps", "tokens")) {
    t.steps = train.integer("steps", 0, 1, kMaxInt);
  } else {
    const int64_t tokens = train.integer("tokens", 0, 1, kMaxInt);
    t.steps = (tokens + t.batch_tokens - 1) / t.batch_tokens;
  }
  t.seed = uint64_t(train.integer("seed", 0, 0, INT64_MAX));
  t.threads = size_t(train.integer("threads", 0, 0, 4096));
  t.eval_interval = train.integer("eval_interval", 0, 0, kMaxInt);
  t.eval_batches = train.integer("eval_batches", 8, 1, 1 << 20);
  t.checkpoint_interval = train.integer("checkpoint_interval", 0, 0, kMaxInt);
  t.keep_checkpoints = train.integer("keep_checkpoints", 3, 1, 1 << 20);
  t.log_interval = train.integer("log_interval", 1, 1, kMaxInt);
  if (!train.has("out")) fail("{}: [train] out (the run directory) is required", source.string());
  t.out = train.path("out");

  c.optim = parse_optim(optim, t.steps);

  c.moe.bias_update_rate = moe.number("bias_update_rate", 0.001, 0.0, 1.0);
  c.moe.seq_aux_alpha = moe.number("seq_aux_alpha", 0.0001, 0.0, 10.0);
  c.moe.mtp_lambda = moe.number("mtp_lambda", 0.3, 0.0, 10.0);
  return c;
}

}  // namespace whale
