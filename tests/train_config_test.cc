// `whale train` TOML configs: a full config, defaults, derived batch/steps, and every kind of mistake
// (unknown section/key with "did you mean", wrong type, out of range, conflicting keys) named in the error.
#include <gtest/gtest.h>

#include "core/error.h"
#include "train/train_config.h"

namespace whale {
namespace {

const std::filesystem::path kSource = "/runs/exp/config.toml";

const std::string kMinimal = R"(
[model]
init = "model/config.json"
tokenizer = "/abs/tok"
[data]
train = "data/train.tok"
[train]
seq_len = 128
batch_size = 4
steps = 1000
out = "out"
)";

TrainConfig parse(const std::string& text) { return parse_train_config(text, kSource); }

void expect_error(const std::string& text, const std::vector<std::string>& needles) {
  try {
    parse(text);
    ADD_FAILURE() << "expected an error for:\n" << text;
  } catch (const Error& e) {
    for (const std::string& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(TrainConfig, MinimalWithDefaults) {
  const TrainConfig c = parse(kMinimal);
  EXPECT_EQ(c.model.init, "/runs/exp/model/config.json");  // relative to the config file
  EXPECT_EQ(c.model.tokenizer, "/abs/tok");
  EXPECT_FALSE(c.model.mtp);
  EXPECT_EQ(c.data.train, "/runs/exp/data/train.tok");
  EXPECT_DOUBLE_EQ(c.data.eval_fraction, 0.01);
  EXPECT_EQ(c.data.kind, DataKind::kPretrain);
  EXPECT_EQ(c.train.batch_tokens, 128 * 4);
  EXPECT_EQ(c.train.steps, 1000);
  EXPECT_EQ(c.train.out, "/runs/exp/out");
  EXPECT_EQ(c.train.keep_checkpoints, 3);
  EXPECT_DOUBLE_EQ(c.optim.lr, 3e-4);
  EXPECT_DOUBLE_EQ(c.optim.min_lr, 3e-5);
  EXPECT_DOUBLE_EQ(c.optim.beta2, 0.95);
  EXPECT_DOUBLE_EQ(c.optim.weight_decay, 0.1);
  EXPECT_DOUBLE_EQ(c.optim.grad_clip, 1.0);
  EXPECT_DOUBLE_EQ(c.moe.bias_update_rate, 0.001);
  EXPECT_DOUBLE_EQ(c.moe.seq_aux_alpha, 0.0001);
  EXPECT_DOUBLE_EQ(c.moe.mtp_lambda, 0.3);
  EXPECT_EQ(c.schedule().total_steps, 1000);
  EXPECT_EQ(c.adamw().beta1, 0.9);
}

TEST(TrainConfig, FullConfigAndDerivedValues) {
  const TrainConfig c = parse(R"(
[model]
checkpoint = "/ckpt"
mtp = true
[data]
train = "sft.tok"
eval_fraction = 0
kind = "sft"
[train]
seq_len = 256
batch_tokens = 4096   # = batch_size 8 × 256 × grad_accum 2
grad_accum = 2
tokens = 100000       # → ceil(100000 / 4096) = 25 steps
seed = 7
threads = 2
eval_interval = 5
eval_batches = 3
checkpoint_interval = 10
keep_checkpoints = 2
log_interval = 5
out = "/out"
[optim]
lr = 1e-3
min_lr = 0
warmup_steps = 5
schedule = "wsd"
decay_fraction = 0.3
decay_shape = "1-sqrt"
beta1 = 0.8
beta2 = 0.99
eps = 1e-6
weight_decay = 0
grad_clip = 0
[moe]
bias_update_rate = 0
seq_aux_alpha = 0.001
mtp_lambda = 0.1
)");
  EXPECT_EQ(c.model.checkpoint, "/ckpt");
  EXPECT_EQ(c.model.tokenizer, "/ckpt");  // defaults to the checkpoint
  EXPECT_TRUE(c.model.mtp);
  EXPECT_EQ(c.data.kind, DataKind::kSft);
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_EQ(c.train.steps, 25);
  EXPECT_EQ(c.train.seed, 7u);
  EXPECT_EQ(c.optim.schedule, ScheduleKind::kWarmupStableDecay);
  EXPECT_EQ(c.optim.decay_shape, DecayShape::kOneMinusSqrt);
  EXPECT_DOUBLE_EQ(c.optim.lr, 1e-3);
  EXPECT_DOUBLE_EQ(c.optim.min_lr, 0.0);
  EXPECT_DOUBLE_EQ(c.moe.mtp_lambda, 0.1);
  const LrSchedule s(c.schedule());  // consistent with the schedule's own checks
  EXPECT_DOUBLE_EQ(s.lr_at(24), 0.0);
}

std::string with(const std::string& section_header, const std::string& line) {
  std::string text = kMinimal;
  const size_t at = text.find(section_header);
  if (at == std::string::npos) return text + section_header + "\n" + line + "\n";
  text.insert(at + section_header.size() + 1, line + "\n");
  return text;
}

TEST(TrainConfig, UnknownKeysAndSections) {
  expect_error(with("[optim]", "lrr = 0.1"), {"config.toml:", "unknown key 'lrr' in [optim]", "did you mean 'lr'"});
  expect_error(with("[train]", "sequence_len = 3"), {"unknown key 'sequence_len'"});
  expect_error(with("[train]", "warmup_steps = 3"), {"unknown key 'warmup_steps' in [train]"});
  expect_error(with("[optimizer]", "lr = 0.1"), {"unknown section [optimizer]", "did you mean 'optim'"});
  expect_error(with("[zzz]", "a = 1"), {"unknown section [zzz]"});
  expect_error("lr = 0.1\n" + kMinimal, {"key 'lr' is outside any section"});
  expect_error(kMinimal + "[train.extra]\nx = 1\n", {"unknown key 'extra' in [train]"});
}

TEST(TrainConfig, NonAsciiTextNeverReachesTheTomlParser) {
  // toml++ hit UB classifying non-ASCII characters (fuzz/train_config): outside strings they are now
  // syntax errors, inside strings and comments they read back exactly.
  expect_error(kMinimal + "\xd0\xba\xd0\xb5\n", {"config.toml:12:", "TOML syntax error"});
  expect_error(kMinimal + "[optim]\n\xc3\xa9t\xc3\xa9 = 1\n", {"config.toml:13:", "TOML syntax error"});
  expect_error(kMinimal + "[optim]\nlr = 5.28\x1a" "bea'\xd0\xba\n", {"config.toml:13:", "TOML syntax error"});
  expect_error(kMinimal + "# \xff\n", {"config.toml:12: the config file is not valid UTF-8"});
  expect_error(kMinimal + "# ~U+\n", {"config.toml:12:", "\"~U+\" is reserved"});
  // Restored values appear in errors as written.
  expect_error(kMinimal + "[optim]\nschedule = \"r\xc3\xa9gl\xc3\xa9\"\n", {"r\xc3\xa9gl\xc3\xa9"});
  // Every quoting form, a line-ending backslash before "é" (the UB case in valid TOML), and comments.
  TrainConfig c = parse(R"(# données d'entraînement
[model]
init = "modèle/config.json" # ок
tokenizer = '/abs/токенизатор'
[data]
train = """data/\
   é.tok"""
[train]
seq_len = 128
batch_size = 4
steps = 1000
out = '''sortie
日本'''
)");
  EXPECT_EQ(c.model.init, "/runs/exp/modèle/config.json");
  EXPECT_EQ(c.model.tokenizer, "/abs/токенизатор");
  EXPECT_EQ(c.data.train, "/runs/exp/data/é.tok");
  EXPECT_EQ(c.train.out, "/runs/exp/sortie\n日本");
}

TEST(TrainConfig, TypesAndRanges) {
  expect_error(with("[optim]", "lr = \"fast\""), {"[optim] lr must be a number, got a string", ":"});
  expect_error(with("[optim]", "lr = -1"), {"[optim] lr = -1 is out of range"});
  expect_error(with("[optim]", "beta2 = 1.0"), {"beta2 = 1 is out of range"});
  expect_error(with("[optim]", "min_lr = 1"), {"min_lr"});
  expect_error(with("[optim]", "warmup_steps = 5000"), {"warmup_steps = 5000 is out of range [0, 1000]"});
  expect_error(with("[optim]", "schedule = \"cosin\""), {"[optim] schedule", "unknown schedule 'cosin'"});
  expect_error(with("[optim]", "grad_clip = nan"), {"grad_clip"});
  expect_error(with("[model]", "mtp = 1"), {"[model] mtp must be a boolean"});
  expect_error(with("[data]", "kind = \"rl\""), {"unknown kind 'rl'"});
  expect_error(with("[data]", "eval_fraction = 1.0"), {"eval_fraction"});
  expect_error(with("[train]", "grad_accum = 0"), {"grad_accum = 0 is out of range"});
  expect_error(with("[train]", "threads = 1.5"), {"threads must be an integer, got a float"});
  expect_error(with("[moe]", "mtp_lambda = -0.5"), {"mtp_lambda"});
  expect_error("[model\n", {"config.toml:1", "TOML syntax error"});
}

TEST(TrainConfig, ConflictsAndRequiredKeys) {
  expect_error(with("[model]", "checkpoint = \"/c\""), {"either init or checkpoint"});
  expect_error(with("[train]", "batch_tokens = 512"), {"either batch_tokens or batch_size"});
  expect_error(with("[train]", "tokens = 5"), {"either steps or tokens"});
  std::string no_batch = kMinimal;
  no_batch.erase(no_batch.find("batch_size = 4\n"), 15);
  expect_error(no_batch, {"needs batch_tokens or batch_size"});
  std::string indivisible = no_batch;
  indivisible.insert(indivisible.find("[train]") + 8, "batch_tokens = 1000\n");
  expect_error(indivisible, {"batch_tokens = 1000 is not a multiple of seq_len × grad_accum = 128"});
  std::string no_out = kMinimal;
  no_out.erase(no_out.find("out = \"out\"\n"), 12);
  expect_error(no_out, {"[train] out"});
  std::string no_tok = kMinimal;
  no_tok.erase(no_tok.find("tokenizer = \"/abs/tok\"\n"), 23);
  expect_error(no_tok, {"tokenizer is required"});
  std::string empty_path = kMinimal;
  empty_path.replace(empty_path.find("data/train.tok"), 14, "");
  expect_error(empty_path, {"[data] train must not be empty"});
  EXPECT_THROW(load_train_config("/nonexistent/c.toml"), Error);
}

TEST(TrainConfig, ClosestMatch) {
  const std::array<std::string_view, 3> keys = {"seq_len", "steps", "seed"};
  EXPECT_EQ(closest_match("seq_lne", keys), "seq_len");
  EXPECT_EQ(closest_match("step", keys), "steps");
  EXPECT_EQ(closest_match("completely_different", keys), "");
}

}  // namespace
}  // namespace whale
