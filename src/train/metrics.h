// Training telemetry: a JSONL metrics log (one flushed object per line, read by `whale plot`) and a
// one-line progress display on stderr (step/total, loss, lr, tokens/s, ETA).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace whale {

class MetricsLog {
 public:
  // Starts a fresh log (truncating), or with resume_step set keeps the records of steps <= resume_step
  // and drops later ones (written by a run that was killed after its last checkpoint). `file` must be absent
  // or a regular file (a symlink, FIFO or device is refused, as core/regular_file.h).
  explicit MetricsLog(const std::filesystem::path& file, std::optional<int64_t> resume_step = std::nullopt);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  void write(const nlohmann::json& record);  // one line, flushed; non-finite numbers become null
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
};

struct ProgressInfo {
  int64_t step = 0;  // steps completed
  int64_t total_steps = 0;
  double loss = 0, lr = 0, tokens_per_s = 0;
  std::optional<double> eval_loss;
};

// "step 120/1000 (12.0%) | loss 3.4521 | eval 3.6012 | lr 2.95e-04 | 1234 tok/s | ETA 5m12s"
std::string format_progress(const ProgressInfo& p, double eta_seconds);
std::string format_duration(double seconds);  // "45s", "5m12s", "3h04m", "2d05h"

class ProgressLine {
 public:
  // first_step: the step the run (re)started from, so the ETA uses only this process's speed.
  ProgressLine(int64_t first_step);
  void update(const ProgressInfo& p);  // rewrites one line on a terminal, prints a line otherwise
  void print(const std::string& line);  // the same, for a line formatted by the caller
  // Seconds left to reach total_steps at this process's average speed so far (NaN before the first step).
  double eta(int64_t step, int64_t total_steps) const;
  void finish();                       // ends the line on a terminal

 private:
  int64_t first_step_;
  std::chrono::steady_clock::time_point start_;
  bool tty_;
  bool open_line_ = false;
};

}  // namespace whale
