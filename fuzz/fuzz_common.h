// Shared helpers of the libFuzzer targets (one fuzz/<name>.cc per target, built by scripts/fuzz.sh).
// A target returns normally for input it rejects with whale::Error; anything else that escapes (another
// exception type, a sanitizer report, a broken property checked with FUZZ_REQUIRE) is a finding.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace whale::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input as JSON, or a discarded value when it is not JSON (such inputs test nothing of ours).
inline nlohmann::json parse_json(std::string_view text) {
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

[[noreturn]] inline void property_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "fuzz property failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace whale::fuzz

#define FUZZ_REQUIRE(cond) \
  do {                     \
    if (!(cond)) ::whale::fuzz::property_failed(#cond, __FILE__, __LINE__); \
  } while (0)
