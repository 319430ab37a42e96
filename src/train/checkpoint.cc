#include "train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/regular_file.h"
#include "io/json_file.h"
#include "tokenizer/tokenizer.h"
#include "train/optimizer.h"
#include "train/params.h"

namespace whale {

namespace {

namespace fs = std::filesystem;

constexpr const char* kLatest = "latest";
constexpr const char* kTmpPrefix = ".tmp-";      // a save in progress
constexpr const char* kTrashPrefix = ".trash-";  // a checkpoint being deleted
constexpr const char* kTrainerState = "trainer_state.json";
constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};

// The step of a "step-NNNNNN" name, or -1.
int64_t parse_step(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5) return -1;
  int64_t step = -1;
  auto [end, ec] = std::from_chars(name.data() + 5, name.data() + name.size(), step);
  return (ec == std::errc() && end == name.data() + name.size() && step >= 0) ? step : -1;
}

// Makes every file of a freshly written directory durable before it is renamed into place.
void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    fsync_path(entry.path(), entry.is_directory());
  fsync_path(dir, true);
}

// Checkpoint directories under OUT, oldest first.
std::vector<std::pair<int64_t, fs::path>> list_checkpoints(const fs::path& out) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(out, ec)) {
    const int64_t step = parse_step(entry.path().filename().string());
    if (step >= 0 && entry.is_directory()) found.emplace_back(step, entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string read_text(const fs::path& file) {
  std::string text = read_regular_file(file);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Renames a directory aside, then deletes it: a kill mid-deletion leaves only a trash name behind.
void remove_dir(const fs::path& dir) {
  const std::string name = kTrashPrefix + dir.filename().string() + "-" + std::to_string(::getpid());
  const fs::path trash = dir.parent_path() / name;
  fs::rename(dir, trash);
  fs::remove_all(trash);
}

// The tokenizer files a checkpoint copies from `dir`: tokenizer.json and those of the others that exist, each
// a regular file (a FIFO or device there is an error, never a copy that blocks).
std::vector<fs::path> tokenizer_files(const fs::path& dir) {
  if (!fs::exists(dir / kTokenizerFiles[0]))
    fail("{}: no {} to copy into the checkpoints (a tokenizer directory is needed)", dir.string(), kTokenizerFiles[0]);
  std::vector<fs::path> files;
  for (const char* name : kTokenizerFiles) {
    if (!fs::exists(dir / name)) continue;
    require_regular_file(dir / name);
    files.push_back(dir / name);
  }
  return files;
}

}  // namespace

Tokenizer load_checkpoint_tokenizer(const fs::path& dir) {
  tokenizer_files(dir);
  return Tokenizer::load(dir);
}

std::string checkpoint_dir_name(int64_t step) { return fmt::format("step-{:06}", step); }

std::optional<fs::path> find_latest_checkpoint(const fs::path& out) {
  const fs::path pointer = out / kLatest;
  if (fs::exists(pointer)) {
    const std::string name = read_text(pointer);
    if (parse_step(name) >= 0 && fs::is_directory(out / name)) return out / name;
  }
  const auto all = list_checkpoints(out);
  if (all.empty()) return std::nullopt;
  return all.back().second;
}

RunDirectory::RunDirectory(fs::path out, int64_t keep_last) : out_(std::move(out)), keep_last_(keep_last) {
  if (keep_last_ < 1) fail("{}: must keep at least 1 checkpoint, got {}", out_.string(), keep_last_);
  std::error_code ec;
  fs::create_directories(out_, ec);
  if (ec || !fs::is_directory(out_)) fail("{}: cannot create the run directory: {}", out_.string(), ec.message());
  require_replaceable_file(out_ / kLatest);  // now, not at the end of the run
  for (const auto& entry : fs::directory_iterator(out_)) {
    const std::string name = entry.path().filename().string();
    const bool leftover = name.rfind(kTmpPrefix, 0) == 0 || name.rfind(kTrashPrefix, 0) == 0 ||
                          name.rfind(std::string(kLatest) + kTmpPrefix, 0) == 0;
    if (leftover) fs::remove_all(entry.path());
  }
}

fs::path RunDirectory::save(int64_t step, const std::function<void(const fs::path& dir)>& write_files) {
  if (step < 0) fail("checkpoint step must be >= 0, got {}", step);
  const std::string name = checkpoint_dir_name(step);
  const fs::path tmp = out_ / (kTmpPrefix + name + "-" + std::to_string(::getpid()));
  const fs::path final_dir = out_ / name;
  fs::remove_all(tmp);
  fs::create_directory(tmp);
  try {
    write_files(tmp);
    fsync_tree(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(final_dir)) remove_dir(final_dir);  // re-saving a step (after a resume)
  fs::rename(tmp, final_dir);
  fsync_path(out_, true);
  write_file_atomically(out_ / kLatest, [&](std::ostream& latest) { latest << name << "\n"; });
  prune(name);
  return final_dir;
}

void RunDirectory::prune(const std::string& keep_name) {
  auto all = list_checkpoints(out_);
  int64_t excess = int64_t(all.size()) - keep_last_;
  for (const auto& [step, dir] : all) {
    if (excess <= 0) break;
    if (dir.filename() == keep_name) continue;
    remove_dir(dir);
    --excess;
  }
}

void write_training_checkpoint(const fs::path& dir, const TrainingCheckpoint& c) {
  {
    std::ofstream config(dir / "config.json");
    config << c.params.config_json().dump(2) << '\n';
    if (!config.flush()) fail("{}: cannot write config.json", dir.string());
  }
  c.params.save_safetensors(dir / "model.safetensors");
  c.optimizer.save(dir / "optimizer.safetensors", c.params);
  for (const fs::path& file : tokenizer_files(c.tokenizer_dir)) fs::copy_file(file, dir / file.filename());
  std::ofstream state(dir / kTrainerState);
  state << c.trainer_state.dump(2) << '\n';
  if (!state.flush()) fail("{}: cannot write {}", dir.string(), kTrainerState);
}

nlohmann::json read_trainer_state(const fs::path& checkpoint_dir) {
  const fs::path file = checkpoint_dir / kTrainerState;
  if (!fs::exists(file)) fail("{}: missing (not a whale training checkpoint?)", file.string());
  const nlohmann::json j = read_json_file(file);
  if (!j.is_object()) fail("{}: not a JSON object", file.string());
  return j;
}

}  // namespace whale
