#include "server/metrics.h"

#include <fmt/format.h>

namespace whale::server {

void Metrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, status}];
}

void Metrics::add_tokens(int64_t prompt, int64_t completion) {
  std::lock_guard lock(mutex_);
  prompt_tokens_ += prompt;
  completion_tokens_ += completion;
}

void Metrics::observe_ttft(double seconds) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < kTtftBuckets.size(); ++i)
    if (seconds <= kTtftBuckets[i]) ++ttft_buckets_[i];
  ++ttft_count_;
  ttft_sum_ += seconds;
}

std::string Metrics::render(const EngineStats& engine, const ServerGauges& server) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  const double dt = std::chrono::duration<double>(now - rate_time_).count();
  if (dt >= 1.0) {
    tokens_per_second_ = double(engine.generated_tokens - rate_tokens_) / dt;
    rate_time_ = now;
    rate_tokens_ = engine.generated_tokens;
  }
  std::string out;
  auto head = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto one = [&](const char* name, const char* type, const char* help,
                 int64_t value) {  // a metric of one sample
    head(name, type, help);
    out += fmt::format("{} {}\n", name, value);
  };
  head("whale_requests_total", "counter", "HTTP requests by endpoint and status code.");
  for (const auto& [key, n] : requests_)
    out += fmt::format("whale_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  one("whale_prompt_tokens_total", "counter", "Prompt tokens of completed requests.", prompt_tokens_);
  one("whale_completion_tokens_total", "counter", "Generated tokens of completed requests.", completion_tokens_);
  head("whale_time_to_first_token_seconds", "histogram", "From request arrival to its first generated token.");
  for (size_t i = 0; i < kTtftBuckets.size(); ++i)
    out += fmt::format("whale_time_to_first_token_seconds_bucket{{le=\"{}\"}} {}\n", kTtftBuckets[i], ttft_buckets_[i]);
  out += fmt::format("whale_time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {}\n", ttft_count_);
  out += fmt::format(
      "whale_time_to_first_token_seconds_sum "
      "{}\nwhale_time_to_first_token_seconds_count {}\n",
      ttft_sum_, ttft_count_);
  head("whale_generation_tokens_per_second", "gauge", "Aggregate generated tokens/s over the last scrape window.");
  out += fmt::format("whale_generation_tokens_per_second {:.3f}\n", tokens_per_second_);
  one("whale_engine_generated_tokens_total", "counter", "Tokens sampled by the engine (cancelled requests included).",
      engine.generated_tokens);
  one("whale_engine_steps_total", "counter", "Batched forward steps run by the engine.", engine.steps);
  one("whale_http_connections", "gauge", "Open HTTP connections.", server.connections);
  one("whale_requests_in_flight", "gauge", "Generation requests admitted (running or waiting for a slot).",
      server.in_flight);
  one("whale_request_capacity", "gauge", "Most generation requests admitted at once (slots + --max-queue).",
      server.capacity);
  one("whale_queue_depth", "gauge", "Requests waiting for a slot.", engine.queued);
  one("whale_active_slots", "gauge", "Slots decoding or prefilling.", engine.active);
  one("whale_slots", "gauge", "Slots configured (--parallel).", engine.n_slots);
  one("whale_kv_cache_tokens", "gauge", "Cached positions in use over all slots.", engine.kv_tokens);
  head("whale_kv_cache_usage_ratio", "gauge", "Cached positions in use / allocated.");
  out += fmt::format("whale_kv_cache_usage_ratio {:.6f}\n",
                     engine.kv_capacity ? double(engine.kv_tokens) / double(engine.kv_capacity) : 0.0);
  return out;
}

}  // namespace whale::server
