// Server metrics in Prometheus text exposition format: request counts by endpoint and status, prompt and
// completion tokens, time to first token (histogram), aggregate generation tokens/s, queue depth, active
// slots and KV cache use (from the engine).
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "engine/batch_engine.h"

namespace whale::server {

// Gauges of the HTTP side, read when /metrics is scraped.
struct ServerGauges {
  int64_t connections = 0;  // open HTTP connections
  int64_t in_flight = 0;    // generation requests admitted (running or waiting for a slot)
  int64_t capacity = 0;     // most generation requests admitted at once (slots + --max-queue)
};

class Metrics {
 public:
  void count_request(const std::string& endpoint, int status);
  void add_tokens(int64_t prompt, int64_t completion);
  void observe_ttft(double seconds);
  // The exposition text; gauges come from the engine's current stats.
  std::string render(const EngineStats& engine, const ServerGauges& server);

 private:
  static constexpr std::array<double, 10> kTtftBuckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  using Clock = std::chrono::steady_clock;

  std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // (endpoint, status) → count
  int64_t prompt_tokens_ = 0, completion_tokens_ = 0;
  std::array<int64_t, kTtftBuckets.size()> ttft_buckets_{};  // cumulative counts per upper bound
  int64_t ttft_count_ = 0;
  double ttft_sum_ = 0;
  // Tokens/s over the window since the previous sample (at least one second old).
  Clock::time_point rate_time_ = Clock::now();
  int64_t rate_tokens_ = 0;
  double tokens_per_second_ = 0;
};

}  // namespace whale::server
