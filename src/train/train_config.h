// `whale train --config FILE.toml`: the training run's settings. Every key is checked: an unknown section
// or key is an error naming it (with a "did you mean"), so are wrong types and out-of-range values.
// Relative paths are resolved against the directory of the config file.
//
//   [model]  init = "config.json" | checkpoint = "DIR" (exactly one), tokenizer = "DIR" (default: the
//            checkpoint), mtp = false
//   [data]   train = "FILE" (from `whale data build`), eval_fraction = 0.01, kind = "pretrain" | "sft"
//   [train]  seq_len = 512, batch_tokens | batch_size (one of them; tokens per optimizer step =
//            batch_size × seq_len × grad_accum), grad_accum = 1, steps | tokens (one of them), seed = 0,
//            threads = 0, eval_interval = 0 (0: never), eval_batches = 8, checkpoint_interval = 0 (0: only at
//            the end), keep_checkpoints = 3, log_interval = 1, out = "DIR"
//   [optim]  lr = 3e-4, min_lr = lr/10, warmup_steps = 0, schedule = "cosine" | "wsd" | "constant",
//            decay_fraction = 0.2, decay_shape = "linear" | "1-sqrt", beta1 = 0.9, beta2 = 0.95,
//            eps = 1e-8, weight_decay = 0.1, grad_clip = 1.0 (0: off)
//   [moe]    bias_update_rate = 0.001 (γ), seq_aux_alpha = 0.0001 (α), mtp_lambda = 0.3 (λ)
// Defaults follow the DeepSeek-V3 paper where it gives values (AdamW betas, weight decay, clip, γ, α, λ).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "config/toml_section.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace whale {

enum class DataKind { kPretrain, kSft };

// [optim]: AdamW, clipping and the learning-rate schedule (shared by `whale train` and `whale rl`).
struct OptimConfig {
  double lr = 3e-4;
  double min_lr = 3e-5;
  int64_t warmup_steps = 0;
  ScheduleKind schedule = ScheduleKind::kCosine;
  double decay_fraction = 0.2;
  DecayShape decay_shape = DecayShape::kLinear;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
  double grad_clip = 1.0;

  ScheduleConfig schedule_config(int64_t total_steps) const;
  AdamWConfig adamw() const;
};

// Reads [optim]; `defaults` supplies the values of absent keys (min_lr defaults to lr / 10).
OptimConfig parse_optim(const TomlSection& section, int64_t total_steps, const OptimConfig& defaults = {});
TomlKeys optim_keys();

struct TrainConfig {
  struct Model {
    std::filesystem::path init;        // config.json to initialise from (empty when checkpoint is set)
    std::filesystem::path checkpoint;  // hub-layout directory to start from (empty when init is set)
    std::filesystem::path tokenizer;
    bool mtp = false;
  } model;
  struct Data {
    std::filesystem::path train;
    double eval_fraction = 0.01;
    DataKind kind = DataKind::kPretrain;
  } data;
  struct Train {
    int64_t seq_len = 512;
    int64_t batch_size = 0;    // sequences per micro-batch
    int64_t grad_accum = 1;
    int64_t batch_tokens = 0;  // tokens per optimizer step = batch_size × seq_len × grad_accum
    int64_t steps = 0;
    uint64_t seed = 0;
    size_t threads = 0;
    int64_t eval_interval = 0;
    int64_t eval_batches = 8;
    int64_t checkpoint_interval = 0;
    int64_t keep_checkpoints = 3;
    int64_t log_interval = 1;
    std::filesystem::path out;
  } train;
  OptimConfig optim;
  struct Moe {
    double bias_update_rate = 0.001;
    double seq_aux_alpha = 0.0001;
    double mtp_lambda = 0.3;
  } moe;
  std::filesystem::path source;  // the config file

  ScheduleConfig schedule() const;
  AdamWConfig adamw() const;
};

TrainConfig load_train_config(const std::filesystem::path& file);
// From TOML text; `source` names the file in errors and is the base of relative paths.
TrainConfig parse_train_config(std::string_view toml_text, const std::filesystem::path& source);


}  // namespace whale
