// Token files: the training data `whale data build` writes and the DataLoader reads.
// Layout (little-endian):
//   header  [40 bytes]  magic "WHALETOK", u32 version (1), u32 flags (bit 0: has a loss mask),
//                       u32 vocab_size, u32 reserved (0), u64 n_tokens, u64 n_documents
//   ids     [n_tokens]  u32 token ids, each < vocab_size; documents are separated by the EOS token
//   mask    [n_tokens]  u8 0/1 (only with flag bit 0): 1 where the token is a training target (SFT)
// Everything is validated on read: a truncated, padded or corrupt file is a whale::Error naming it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace whale {

struct TokenData {
  uint32_t vocab_size = 0;
  uint64_t n_documents = 0;
  std::vector<uint32_t> ids;  // [n_tokens]
  std::vector<uint8_t> mask;  // [n_tokens] or empty (every token is a target)
  bool has_mask() const { return !mask.empty(); }
};

// Writes atomically (temp file + fsync + rename; a `path` that is not a regular file is refused, as
// core/regular_file.h). Checks ids < vocab_size and mask size/values.
void write_token_file(const std::filesystem::path& path, const TokenData& data);
TokenData read_token_file(const std::filesystem::path& path);

}  // namespace whale
