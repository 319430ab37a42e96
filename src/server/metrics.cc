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

std::string Metrics::render(const EngineStats& engine) {
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
  head("whale_requests_total", "counter", "HTTP requests by endpoint and status code.");
  for (const auto& [key, n] : requests_)
    out += fmt::format("whale_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  head("whale_prompt_tokens_total", "counter", "Prompt tokens of completed requests.");
  out += fmt::format("whale_prompt_tokens_total {}\n", prompt_tokens_);
  head("whale_completion_tokens_total", "counter", "Generated tokens of completed requests.");
  out += fmt::format("whale_completion_tokens_total {}\n", completion_tokens_);
  head("whale_time_to_first_token_seconds", "histogram", "From request arrival to its first generated token.");
  for (size_t i = 0; i < kTtftBuckets.size(); ++i)
    out += fmt::format("whale_time_to_first_token_seconds_bucket{{le=\"{}\"}} {}\n", kTtftBuckets[i], ttft_buckets_[i]);
  out += fmt::format("whale_time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {}\n", ttft_count_);
  out += fmt::format("whale_time_to_first_token_seconds_sum {}\nwhale_time_to_first_token_seconds_count {}\n",
                     ttft_sum_, ttft_count_);
  head("whale_generation_tokens_per_second", "gauge", "Aggregate generated tokens/s over the last scrape window.");
  out += fmt::format("whale_generation_tokens_per_second {:.3f}\n", tokens_per_second_);
  head("whale_engine_generated_tokens_total", "counter", "Tokens sampled by the engine (cancelled requests included).");
  out += fmt::format("whale_engine_generated_tokens_total {}\n", engine.generated_tokens);
  head("whale_engine_steps_total", "counter", "Batched forward steps run by the engine.");
  out += fmt::format("whale_engine_steps_total {}\n", engine.steps);
  head("whale_queue_depth", "gauge", "Requests waiting for a slot.");
  out += fmt::format("whale_queue_depth {}\n", engine.queued);
  head("whale_active_slots", "gauge", "Slots decoding or prefilling.");
  out += fmt::format("whale_active_slots {}\n", engine.active);
  head("whale_slots", "gauge", "Slots configured (--parallel).");
  out += fmt::format("whale_slots {}\n", engine.n_slots);
  head("whale_kv_cache_tokens", "gauge", "Cached positions in use over all slots.");
  out += fmt::format("whale_kv_cache_tokens {}\n", engine.kv_tokens);
  head("whale_kv_cache_usage_ratio", "gauge", "Cached positions in use / allocated.");
  out += fmt::format("whale_kv_cache_usage_ratio {:.6f}\n",
                     engine.kv_capacity ? double(engine.kv_tokens) / double(engine.kv_capacity) : 0.0);
  return out;
}

}  // namespace whale::server
