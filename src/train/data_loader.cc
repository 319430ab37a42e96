#include "train/data_loader.h"

#include <cmath>

#include "core/error.h"

namespace whale {

namespace {

// splitmix64: a counter-based generator, so any (seed, step, row) draw needs no sequential state.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

nlohmann::json DataLoaderState::to_json() const {
  // The seed as a string: JSON readers often hold numbers in doubles, which lose 64-bit values.
  return {{"seed", std::to_string(seed)}, {"step", step}};
}

DataLoaderState DataLoaderState::from_json(const nlohmann::json& j) {
  DataLoaderState s;
  if (!j.is_object() || !j.contains("seed") || !j["seed"].is_string())
    fail("data loader state: 'seed' must be a string holding an unsigned integer");
  const std::string& seed = j["seed"].get_ref<const std::string&>();
  size_t used = 0;
  try {
    s.seed = std::stoull(seed, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != seed.size() || seed[0] == '-') fail("data loader state: bad seed '{}'", seed);
  if (!j.contains("step") || !j["step"].is_number_integer() || j["step"].get<int64_t>() < 0)
    fail("data loader state: 'step' must be a non-negative integer");
  s.step = j["step"].get<int64_t>();
  return s;
}

DataLoader::DataLoader(const std::filesystem::path& path, int64_t seq_len, int64_t batch, uint64_t seed,
                       double eval_fraction)
    : DataLoader(std::make_shared<const TokenData>(read_token_file(path)), seq_len, batch, seed, eval_fraction,
                 path.string()) {}

DataLoader::DataLoader(std::shared_ptr<const TokenData> data, int64_t seq_len, int64_t batch, uint64_t seed,
                       double eval_fraction, const std::string& source)
    : data_(std::move(data)), source_(source), seq_len_(seq_len), batch_(batch), seed_(seed) {
  if (seq_len < 1) fail("{}: seq_len must be >= 1, got {}", source_, seq_len);
  if (batch < 1) fail("{}: batch size must be >= 1, got {}", source_, batch);
  if (!(eval_fraction >= 0.0 && eval_fraction < 1.0))
    fail("{}: eval fraction must be in [0, 1), got {}", source_, eval_fraction);
  const int64_t n = int64_t(data_->ids.size());
  const int64_t held_out = int64_t(std::llround(eval_fraction * double(n)));
  train_end_ = n - held_out;
  const int64_t window = seq_len + 1;
  if (train_end_ < window)
    fail("{}: the training split has {} tokens, shorter than one window of seq_len+1 = {} tokens", source_,
         train_end_, window);
  if (held_out > 0 && held_out < window)
    fail("{}: the eval split ({} of {} tokens) is shorter than one window of {} tokens; raise eval_fraction or "
         "set it to 0", source_, held_out, n, window);
}

void DataLoader::fill(Batch& b, int64_t row, int64_t start) const {
  const int64_t window = seq_len_ + 1;
  for (int64_t t = 0; t < window; ++t) {
    b.tokens[row * window + t] = int32_t(data_->ids[start + t]);
    b.mask[row * window + t] = data_->has_mask() ? data_->mask[start + t] : 1;
  }
}

Batch DataLoader::batch_at(int64_t step) const {
  const int64_t window = seq_len_ + 1;
  Batch b{batch_, seq_len_, std::vector<int32_t>(batch_ * window), std::vector<uint8_t>(batch_ * window)};
  const uint64_t n_starts = uint64_t(train_end_ - window + 1);
  const uint64_t step_key = mix(seed_ ^ mix(uint64_t(step)));
  for (int64_t row = 0; row < batch_; ++row) {
    // Modulo bias is below n_starts / 2^64: negligible for any real file.
    const uint64_t start = mix(step_key + uint64_t(row)) % n_starts;
    fill(b, row, int64_t(start));
  }
  return b;
}

Batch DataLoader::next() { return batch_at(step_++); }

Batch DataLoader::eval_batch(int64_t i) const {
  const int64_t window = seq_len_ + 1;
  if (eval_windows() == 0) fail("{}: no eval split (eval_fraction is 0)", source_);
  Batch b{batch_, seq_len_, std::vector<int32_t>(batch_ * window), std::vector<uint8_t>(batch_ * window)};
  for (int64_t row = 0; row < batch_; ++row) {
    const int64_t w = (i * batch_ + row) % eval_windows();
    fill(b, row, train_end_ + w * window);
  }
  return b;
}

void DataLoader::restore(const DataLoaderState& s) {
  if (s.seed != seed_)
    fail("{}: cannot resume: the checkpoint's data seed {} differs from the configured seed {}", source_, s.seed,
         seed_);
  step_ = s.step;
}

}  // namespace whale
