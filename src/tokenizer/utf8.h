// UTF-8 helpers for the tokenizer: validation, lossy conversion (as Rust's from_utf8_lossy: each maximal
// invalid subpart becomes one U+FFFD) and detection of a trailing incomplete character for streaming.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace whale::utf8 {

// Length of the valid UTF-8 sequence starting at s[pos] (1..4), or 0 if the bytes there are not a complete
// valid sequence (invalid lead byte, bad continuation, overlong, surrogate, beyond U+10FFFF, or truncated).
size_t sequence_length(std::string_view s, size_t pos);

// Offset of the first invalid byte, or npos if `s` is entirely valid UTF-8.
size_t find_invalid(std::string_view s);

// Throws whale::Error naming `what` and the byte offset if `s` is not valid UTF-8.
void require_valid(std::string_view s, std::string_view what);

// Appends `bytes` to `out`, replacing every maximal invalid subpart with U+FFFD.
void append_lossy(std::string_view bytes, std::string& out);

// Number of bytes at the end of `bytes` that form a proper prefix of a valid UTF-8 sequence (0..3): bytes a
// streaming decoder must hold back until the next token completes them.
size_t incomplete_tail(std::string_view bytes);

// Appends the UTF-8 encoding of code point `cp` (< 0x110000, not a surrogate) to `out`.
void append_code_point(uint32_t cp, std::string& out);

// Decodes the code point at s[pos] (which must start a valid sequence) and advances pos past it.
uint32_t next_code_point(std::string_view s, size_t& pos);

}  // namespace whale::utf8
