#include "distill/tokenizer_fingerprint.h"

#include <fmt/format.h>

#include <cstdint>

namespace whale::distill {

std::string tokenizer_fingerprint(const Tokenizer& tokenizer) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  auto mix_u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) mix(uint8_t(v >> (8 * i)));
  };
  mix_u32(uint32_t(tokenizer.vocab_size()));
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const std::string bytes(tokenizer.token_bytes(id));
    mix_u32(uint32_t(bytes.size()));
    for (char c : bytes) mix(uint8_t(c));
  }
  return fmt::format("{:016x}", h);
}

}  // namespace whale::distill
