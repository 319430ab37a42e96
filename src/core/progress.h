// Progress of a long job on stderr. On a terminal: one line redrawn in place (at most 4 times a second)
// with a bar, the amount done, the rate and the time left. Otherwise (logs, pipes, tests): no escape codes
// and no noise for short jobs: a plain line every 10 s once the job has run 10 s, and a closing line when
// it ran that long. Safe to advance from several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace whale {

class Progress {
 public:
  enum class Unit { kCount, kBytes };
  // total: the amount the job will reach (0: unknown). unit_name: what a kCount counts ("tensors").
  Progress(std::string label, double total, Unit unit = Unit::kCount, std::string unit_name = "");
  ~Progress();  // finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void add(double amount);
  // Text shown after the numbers ("kept 120 of 400 traces"); replaces the previous note.
  void note(std::string text);
  // Ends the line: "label: <total> in 12.3 s" (on a terminal always, elsewhere only for a long job).
  void finish();

  // The line as drawn for `done` after `seconds` (exposed for tests).
  std::string line(double done, double seconds) const;

 private:
  void draw(bool final);
  std::string amount(double v) const;

  const std::string label_, unit_name_;
  const double total_;
  const Unit unit_;
  const bool tty_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<double> done_{0};
  std::mutex mutex_;  // guards drawing
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false, finished_ = false;
  std::string note_;  // guarded by mutex_
};

}  // namespace whale
