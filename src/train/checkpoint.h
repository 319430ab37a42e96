// Training run directory and its checkpoints:
//   OUT/step-000120/   config.json, model.safetensors, tokenizer files, optimizer.safetensors,
//                      trainer_state.json  (hub layout: `whale forward --model OUT/step-000120` loads it)
//   OUT/latest         the name of the newest complete checkpoint directory (a regular file: a symlink,
//                      FIFO or device there is refused when the run directory is opened)
//   OUT/metrics.jsonl  (train/metrics.h)
// A checkpoint is written into OUT/.tmp-step-…, fsync'd, then renamed into place; `latest` is then
// replaced the same way (temp file + rename). A kill at any moment therefore leaves `latest` naming a
// complete checkpoint (or no `latest` at all before the first one); leftover temp directories are removed
// when the run directory is opened again. Old checkpoints beyond keep_last are removed (renamed aside first,
// so a half-deleted directory never carries a step name).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace whale {

class AdamW;
class ParamSet;
class Tokenizer;

std::string checkpoint_dir_name(int64_t step);  // "step-000120"

// The checkpoint `OUT/latest` names; if that is missing or names no directory (a run killed between
// steps of a save), the newest step-* directory; nullopt when there is none.
std::optional<std::filesystem::path> find_latest_checkpoint(const std::filesystem::path& out);

class RunDirectory {
 public:
  // Creates OUT if needed and removes leftovers of interrupted saves. keep_last >= 1.
  RunDirectory(std::filesystem::path out, int64_t keep_last);

  // Writes checkpoint `step`: write_files fills a fresh temp directory, which then becomes OUT/step-NNNNNN
  // (replacing an older one of the same step) and `latest`; older checkpoints beyond keep_last are removed.
  // If write_files throws, nothing changes but the temp directory's removal. Returns the checkpoint path.
  std::filesystem::path save(int64_t step, const std::function<void(const std::filesystem::path& dir)>& write_files);

  std::optional<std::filesystem::path> latest() const { return find_latest_checkpoint(out_); }
  const std::filesystem::path& path() const { return out_; }

 private:
  void prune(const std::string& keep_name);

  std::filesystem::path out_;
  int64_t keep_last_;
};

// The files of a training checkpoint (everything but the temp-dir mechanics).
struct TrainingCheckpoint {
  const ParamSet& params;
  const AdamW& optimizer;
  nlohmann::json trainer_state;       // step, data loader state, rng state, best eval, ...: the trainer's
  std::filesystem::path tokenizer_dir;  // tokenizer.json, tokenizer_config.json, ... copied when present
};
void write_training_checkpoint(const std::filesystem::path& dir, const TrainingCheckpoint& checkpoint);
// The tokenizer of a training run, loaded at startup: the files write_training_checkpoint will copy must be
// there (tokenizer.json at least) and regular, and must load, so a bad [model] tokenizer fails the run before
// its first step, not at its first checkpoint. Errors name the directory or file.
Tokenizer load_checkpoint_tokenizer(const std::filesystem::path& dir);

// DIR/trainer_state.json (whale::Error naming the file when missing or malformed).
nlohmann::json read_trainer_state(const std::filesystem::path& checkpoint_dir);

}  // namespace whale
