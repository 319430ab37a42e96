#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace whale {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kTerminalInterval = std::chrono::milliseconds(250);
constexpr auto kLogInterval = std::chrono::seconds(10);  // also the age a job needs before a log line

std::string duration(double s) {
  if (s < 60) return fmt::format("{:.0f} s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", int(s) / 60, int(s) % 60);
  return fmt::format("{}h{:02d}m", int(s) / 3600, int(s) / 60 % 60);
}

}  // namespace

Progress::Progress(std::string label, double total, Unit unit, std::string unit_name)
    : label_(std::move(label)),
      unit_name_(std::move(unit_name)),
      total_(total),
      unit_(unit),
      tty_(::isatty(STDERR_FILENO)),
      start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

std::string Progress::amount(double v) const {
  if (unit_ == Unit::kBytes) {
    if (v >= 1e9) return fmt::format("{:.2f} GB", v / 1e9);
    if (v >= 1e6) return fmt::format("{:.1f} MB", v / 1e6);
    return fmt::format("{:.0f} kB", v / 1e3);
  }
  return fmt::format("{:.0f}{}{}", v, unit_name_.empty() ? "" : " ", unit_name_);
}

std::string Progress::line(double done, double seconds) const {
  std::string s = label_ + ": ";
  if (total_ > 0) {
    const double f = std::min(1.0, done / total_);
    if (tty_) {
      constexpr int kWidth = 24;
      const int full = int(std::lround(f * kWidth));
      s += fmt::format("[{:#<{}}{:.<{}}] ", "", full, "", kWidth - full);
    }
    s += fmt::format("{:.0f}% ({} of {})", 100 * f, amount(done), amount(total_));
  } else {
    s += amount(done);
  }
  if (seconds > 0 && done > 0) {
    s += fmt::format(", {}/s", amount(done / seconds));
    if (total_ > done) s += fmt::format(", {} left", duration(seconds * (total_ - done) / done));
  }
  return s;
}

void Progress::add(double amount) {
  done_.fetch_add(amount);
  const Clock::time_point now = Clock::now();
  const auto interval = tty_ ? std::chrono::duration_cast<Clock::duration>(kTerminalInterval)
                             : std::chrono::duration_cast<Clock::duration>(kLogInterval);
  if (now - last_draw_ < interval) return;  // a racy read: at worst one extra or one late draw
  std::lock_guard lock(mutex_);
  if (finished_ || now - last_draw_ < interval) return;
  last_draw_ = now;
  draw(false);
}

void Progress::note(std::string text) {
  std::lock_guard lock(mutex_);
  note_ = std::move(text);
}

void Progress::draw(bool final) {
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  if (final) {
    std::fprintf(stderr, "%s%s: %s in %s%s%s%s\n", tty_ ? "\r" : "", label_.c_str(), amount(done_.load()).c_str(),
                 duration(seconds).c_str(), note_.empty() ? "" : "; ", note_.c_str(), tty_ ? "\x1b[K" : "");
  } else {
    std::fprintf(stderr, "%s%s%s%s%s", tty_ ? "\r" : "", line(done_.load(), seconds).c_str(), note_.empty() ? "" : "; ",
                 note_.c_str(), tty_ ? "\x1b[K" : "\n");
  }
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  // A job short enough never to have drawn stays silent.
  if (drawn_) draw(true);
}

}  // namespace whale
