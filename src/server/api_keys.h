// API keys and their limits. One key from --api-key, or a key file (--api-key-file) with one key per line:
//   sk-4f9c...                                  a key; its id (for logs and policies) is "line-<n>"
//   sk-77ab... id=team-a concurrency=4 rpm=120  at most 4 generation requests at once, 120 per minute
// Blank lines and lines starting with '#' are skipped. A key is at least 8 characters and has no spaces. A presented
// key is compared in constant time with every configured key (no early exit, no length leak beyond the presented
// length).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace whale::server {

struct ApiKey {
  std::string secret, id;
  int64_t max_concurrent = 0;  // generation requests running at once; 0: no limit
  int64_t per_minute = 0;      // generation requests started per minute (token bucket); 0: no limit
};

// Constant-time comparison of a presented credential with a configured one.
bool constant_time_equal(std::string_view presented, std::string_view key);

class ApiKeys {
 public:
  ApiKeys() = default;  // no keys: authentication is off
  // Throws whale::Error for an empty or malformed key.
  static ApiKeys single(const std::string& secret);
  // Throws whale::Error naming the file and line for a bad line, a duplicate key or id, or an empty file.
  static ApiKeys from_file(const std::string& path);
  static ApiKeys parse(std::string_view text, const std::string& source);

  bool enabled() const { return !keys_.empty(); }
  const std::vector<ApiKey>& keys() const { return keys_; }
  // The key an "Authorization: Bearer <key>" header presents, or nullptr.
  const ApiKey* authenticate(std::string_view authorization) const;

  struct Refusal {
    std::string message;
    int retry_after_s = 1;
  };
  // Starts one generation request for `key` (nullptr: no keys configured, always admitted) within its limits; a request
  // admitted must be ended with release().
  std::optional<Refusal> acquire(const ApiKey* key);
  void release(const ApiKey* key);

 private:
  using Clock = std::chrono::steady_clock;
  struct Usage {
    int64_t running = 0;
    double tokens = 0;  // the per-minute bucket
    Clock::time_point refilled = Clock::now();
  };
  struct State {
    std::mutex mutex;
    std::vector<Usage> usage;  // parallel to keys_
  };
  void init_usage();

  std::vector<ApiKey> keys_;
  std::unique_ptr<State> state_;
};

}  // namespace whale::server
