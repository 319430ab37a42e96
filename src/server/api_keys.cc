#include "server/api_keys.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/regular_file.h"

namespace whale::server {
namespace {

constexpr size_t kMinKeyLength = 8;

void check_secret(std::string_view secret, const std::string& where) {
  if (secret.size() < kMinKeyLength)
    fail("{}: an API key must be at least {} characters (got {})", where, kMinKeyLength, secret.size());
  for (char c : secret)
    if (uint8_t(c) <= ' ' || c == 0x7f) fail("{}: an API key must not contain spaces or control characters", where);
}

int64_t parse_limit(std::string_view value, std::string_view name, const std::string& where) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < 1)
    fail("{}: {}={} is not a positive integer", where, name, value);
  return v;
}

}  // namespace

bool constant_time_equal(std::string_view presented, std::string_view key) {
  // Every byte of the presented value is compared (against the key, cycled), whatever matches.
  unsigned diff = presented.size() != key.size();
  for (size_t i = 0; i < presented.size(); ++i)
    diff |= unsigned(uint8_t(presented[i]) ^ uint8_t(key.empty() ? 0 : key[i % key.size()]));
  return diff == 0;
}

ApiKeys ApiKeys::single(const std::string& secret) {
  check_secret(secret, "--api-key");
  ApiKeys k;
  k.keys_.push_back({.secret = secret, .id = "default"});
  k.init_usage();
  return k;
}

ApiKeys ApiKeys::from_file(const std::string& path) { return parse(read_regular_file(path), path); }

ApiKeys ApiKeys::parse(std::string_view text, const std::string& source) {
  ApiKeys k;
  std::set<std::string> secrets, ids;
  size_t line_no = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_no;
    const std::string where = fmt::format("{}:{}", source, line_no);
    std::vector<std::string_view> words;
    for (size_t at = 0; at < line.size();) {
      at = line.find_first_not_of(" \t\r", at);
      if (at == std::string_view::npos) break;
      const size_t end = std::min(line.find_first_of(" \t\r", at), line.size());
      words.push_back(line.substr(at, end - at));
      at = end;
    }
    if (words.empty() || words[0].starts_with('#')) continue;
    ApiKey key{.secret = std::string(words[0]), .id = fmt::format("line-{}", line_no)};
    check_secret(key.secret, where);
    for (size_t i = 1; i < words.size(); ++i) {
      const size_t eq = words[i].find('=');
      const std::string_view name = words[i].substr(0, eq),
                             value = eq == std::string_view::npos ? "" : words[i].substr(eq + 1);
      if (eq == std::string_view::npos || value.empty()) fail("{}: expected name=value, got '{}'", where, words[i]);
      if (name == "id")
        key.id = std::string(value);
      else if (name == "concurrency")
        key.max_concurrent = parse_limit(value, name, where);
      else if (name == "rpm")
        key.per_minute = parse_limit(value, name, where);
      else
        fail("{}: unknown setting '{}' (id, concurrency, rpm)", where, name);
    }
    if (!secrets.insert(key.secret).second) fail("{}: this key appears twice", where);
    if (!ids.insert(key.id).second) fail("{}: the id '{}' appears twice", where, key.id);
    k.keys_.push_back(std::move(key));
  }
  if (k.keys_.empty()) fail("--api-key-file: {} has no key", source);
  k.init_usage();
  return k;
}

void ApiKeys::init_usage() {
  state_ = std::make_unique<State>();
  state_->usage.resize(keys_.size());
  for (size_t i = 0; i < keys_.size(); ++i) state_->usage[i].tokens = double(keys_[i].per_minute);  // a full bucket
}

const ApiKey* ApiKeys::authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (!authorization.starts_with(kBearer)) return nullptr;
  const std::string_view presented = authorization.substr(kBearer.size());
  const ApiKey* found = nullptr;
  for (const ApiKey& k : keys_)  // every key is compared, whichever matches
    if (constant_time_equal(presented, k.secret)) found = &k;
  return found;
}

std::optional<ApiKeys::Refusal> ApiKeys::acquire(const ApiKey* key) {
  if (!key) return std::nullopt;
  std::lock_guard lock(state_->mutex);
  Usage& u = state_->usage[size_t(key - keys_.data())];
  if (key->max_concurrent && u.running >= key->max_concurrent)
    return Refusal{fmt::format("API key '{}' already has {} requests running (its limit)", key->id, u.running), 1};
  if (key->per_minute) {
    const auto now = Clock::now();
    const double rate = double(key->per_minute) / 60.0;  // tokens per second
    u.tokens =
        std::min(double(key->per_minute), u.tokens + rate * std::chrono::duration<double>(now - u.refilled).count());
    u.refilled = now;
    if (u.tokens < 1.0)
      return Refusal{fmt::format("API key '{}' is over its limit of {} requests per minute", key->id, key->per_minute),
                     int(std::ceil((1.0 - u.tokens) / rate))};
    u.tokens -= 1.0;
  }
  ++u.running;
  return std::nullopt;
}

void ApiKeys::release(const ApiKey* key) {
  if (!key) return;
  std::lock_guard lock(state_->mutex);
  --state_->usage[size_t(key - keys_.data())].running;
}

}  // namespace whale::server
