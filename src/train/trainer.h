// `whale train`: pretraining and SFT of a model on a token file, with AdamW, a learning-rate schedule,
// gradient accumulation and clipping, DeepSeek-V3's auxiliary-loss-free balancing, the sequence-wise
// balance loss and multi-token prediction; eval, metrics, atomic checkpoints, bit-identical resume.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "train/data_loader.h"
#include "train/train_config.h"
#include "train/transformer.h"

namespace whale {

struct TrainRunOptions {
  bool resume = false;           // continue from the run directory's latest checkpoint
  bool progress = true;          // progress line on stderr
};

struct TrainSummary {
  int64_t first_step = 0, steps_done = 0;  // the run covered optimizer steps [first_step, steps_done)
  double first_loss = 0, last_loss = 0;    // training loss of the first and last step of this process
  std::optional<double> eval_loss;         // last evaluation
  double tokens_per_s = 0, gflops = 0;     // training throughput of this process (matmul FLOPs, fwd + bwd)
  std::filesystem::path checkpoint;        // the last checkpoint written
  bool interrupted = false;                // stopped early by Ctrl-C (after saving)
};

TrainSummary run_training(const TrainConfig& config, const TrainRunOptions& options);

// The losses of one micro-batch. total = ce + λ·mtp + α·balance is what backward differentiates.
struct BatchLoss {
  double ce = 0, mtp = 0, balance = 0, total = 0;
  std::vector<TrainForward::ExpertLoad> expert_load;
};
// Forward (and, when backward_scale > 0, backward with d total/d θ × backward_scale added to the grads).
// Targets: token t + 1 where the batch mask allows it; MTP: token t + 2.
BatchLoss batch_loss(Transformer& model, ThreadPool& pool, const Batch& batch, const TrainConfig::Moe& moe,
                     bool mtp, float backward_scale);

// Matmul FLOPs of training on one token (forward + backward = 3 × forward), attention scores included.
double training_flops_per_token(const ModelConfig& config, int64_t seq_len, bool mtp);

}  // namespace whale
