#include "train/metrics.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/regular_file.h"

namespace whale {

namespace {

// JSON has no NaN/inf: nlohmann would write them as null anyway, but say so explicitly.
nlohmann::json finite_only(const nlohmann::json& j) {
  if (j.is_number_float() && !std::isfinite(j.get<double>())) return nullptr;
  if (j.is_object() || j.is_array()) {
    nlohmann::json out = j;
    for (auto& v : out) v = finite_only(v);
    return out;
  }
  return j;
}

// Lines of an existing log that belong to steps <= last_step (unparseable lines are dropped).
std::vector<std::string> kept_lines(const std::filesystem::path& file, int64_t last_step) {
  std::vector<std::string> lines;
  std::istringstream in(read_regular_file(file));
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("step") && j["step"].is_number() && j["step"].get<double>() <= double(last_step))
      lines.push_back(line);
  }
  return lines;
}

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& file, std::optional<int64_t> resume_step) : path_(file) {
  require_replaceable_file(file);  // fopen would block on a FIFO and write through a symlink
  if (resume_step && std::filesystem::exists(file)) {
    // Rewrite without the dropped records through a temp file, so a kill here loses nothing.
    const std::vector<std::string> lines = kept_lines(file, *resume_step);
    write_file_atomically(file, [&](std::ostream& out) {
      for (const std::string& line : lines) out << line << '\n';
    });
  }
  file_ = std::fopen(file.c_str(), resume_step ? "a" : "w");
  if (!file_) fail("{}: cannot open the metrics log: {}", file.string(), std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::write(const nlohmann::json& record) {
  const std::string line = finite_only(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (std::fprintf(file_, "%s\n", line.c_str()) < 0 || std::fflush(file_) != 0)
    fail("{}: cannot write the metrics log: {}", path_.string(), std::strerror(errno));
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = std::llround(seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string format_progress(const ProgressInfo& p, double eta_seconds) {
  const double pct = p.total_steps > 0 ? 100.0 * double(p.step) / double(p.total_steps) : 0.0;
  std::string line = fmt::format("step {}/{} ({:.1f}%) | loss {:.4f}", p.step, p.total_steps, pct, p.loss);
  if (p.eval_loss) line += fmt::format(" | eval {:.4f}", *p.eval_loss);
  line += fmt::format(" | lr {:.2e} | {:.0f} tok/s | ETA {}", p.lr, p.tokens_per_s, format_duration(eta_seconds));
  return line;
}

ProgressLine::ProgressLine(int64_t first_step)
    : first_step_(first_step), start_(std::chrono::steady_clock::now()), tty_(::isatty(2)) {}

double ProgressLine::eta(int64_t step, int64_t total_steps) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = step - first_step_;
  return done > 0 ? elapsed / double(done) * double(total_steps - step) : NAN;
}

void ProgressLine::print(const std::string& line) {
  if (tty_) std::fprintf(stderr, "\r%s\033[K", line.c_str());
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  open_line_ = tty_;
}

void ProgressLine::update(const ProgressInfo& p) { print(format_progress(p, eta(p.step, p.total_steps))); }

void ProgressLine::finish() {
  if (open_line_) std::fputc('\n', stderr);
  open_line_ = false;
}

}  // namespace whale
