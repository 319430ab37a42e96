// AdamW over the f32 master weights of a ParamSet (decoupled weight decay, bias-corrected moments, as
// torch.optim.AdamW), global gradient-norm clipping, and optimizer state save/load (safetensors).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "train/params.h"

namespace whale {

class ThreadPool;

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;  // applied only to params with Param::decay
};

class AdamW {
 public:
  explicit AdamW(AdamWConfig config);  // throws whale::Error on out-of-range hyperparameters

  // One update with learning rate `lr` from the accumulated grads of every Param with `trained` set:
  //   m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;  p ← p·(1 - lr·wd) - lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps)
  // Grads are left as they are (the caller zeroes them). `pool` may be null.
  void step(ParamSet& params, double lr, ThreadPool* pool = nullptr);

  int64_t step_count() const { return step_; }
  const AdamWConfig& config() const { return config_; }

  // Writes m.<name> and v.<name> (F32) for every trained param, with the step count in the metadata.
  void save(const std::filesystem::path& file, const ParamSet& params) const;
  // Reads a file written by save(); every trained param must have both moments with its shape, and the
  // file must hold nothing else (a mismatch means another model): whale::Error naming the tensor.
  void load(const std::filesystem::path& file, const ParamSet& params);

 private:
  struct Moments {
    std::vector<float> m, v;  // [numel] each
  };
  Moments& moments_for(const Param& p);

  AdamWConfig config_;
  int64_t step_ = 0;
  std::unordered_map<std::string, Moments> state_;  // by param name
};

// Global L2 norm of the grads of all trained params (accumulated in double). When max_norm > 0 and the
// norm exceeds it, scales every grad by max_norm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_).
// Returns the norm before clipping; a non-finite norm leaves the grads untouched.
double clip_grad_norm(ParamSet& params, double max_norm);

}  // namespace whale
