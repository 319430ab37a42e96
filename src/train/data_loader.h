// DataLoader: random windows of seq_len+1 tokens from a token file, reproducible from (seed, step):
// batch k is a pure function of the seed and k, so resuming at step k yields the same batches as an
// uninterrupted run. The last eval_fraction of the tokens is held out for evaluation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/token_file.h"

namespace whale {

struct Batch {
  int64_t batch = 0, seq_len = 0;
  std::vector<int32_t> tokens;  // [batch, seq_len+1]: inputs are [:, :seq_len], targets [:, 1:]
  std::vector<uint8_t> mask;    // [batch, seq_len+1] 1 where the token is a target (all 1 for pretraining data)
};

struct DataLoaderState {
  uint64_t seed = 0;
  int64_t step = 0;  // the next batch to produce
  nlohmann::json to_json() const;
  static DataLoaderState from_json(const nlohmann::json& j);  // throws naming the bad field
};

class DataLoader {
 public:
  // Throws whale::Error when the file is invalid or either split is shorter than one window.
  DataLoader(const std::filesystem::path& path, int64_t seq_len, int64_t batch, uint64_t seed,
             double eval_fraction = 0.0);
  DataLoader(std::shared_ptr<const TokenData> data, int64_t seq_len, int64_t batch, uint64_t seed,
             double eval_fraction, const std::string& source);

  // The training batch for the current step; advances the step.
  Batch next();
  // The training batch of an arbitrary step (does not change the state).
  Batch batch_at(int64_t step) const;
  // Evaluation batch i: consecutive non-overlapping windows of the held-out tokens, wrapping around.
  Batch eval_batch(int64_t i) const;

  DataLoaderState state() const { return {seed_, step_}; }
  void restore(const DataLoaderState& s);  // the seed must match (else whale::Error)

  int64_t train_tokens() const { return train_end_; }
  int64_t eval_tokens() const { return int64_t(data_->ids.size()) - train_end_; }
  int64_t eval_windows() const { return eval_tokens() / (seq_len_ + 1); }
  uint32_t vocab_size() const { return data_->vocab_size; }
  bool has_mask() const { return data_->has_mask(); }

 private:
  void fill(Batch& b, int64_t row, int64_t start) const;

  std::shared_ptr<const TokenData> data_;
  std::string source_;
  int64_t seq_len_, batch_;
  uint64_t seed_;
  int64_t step_ = 0;
  int64_t train_end_ = 0;  // tokens [0, train_end_) train, [train_end_, n) eval
};

}  // namespace whale
