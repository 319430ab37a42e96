// The GPT-2 byte-level alphabet: every byte maps to one printable Unicode character, so BPE vocabularies
// can be written as text. Bytes 0x21..0x7E, 0xA1..0xAC and 0xAE..0xFF map to themselves; the other 68
// bytes map, in increasing order, to U+0100, U+0101, ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace whale::byte_level {

// UTF-8 text of the character that stands for byte b.
std::string_view char_of(uint8_t b);

// Bytes → byte-level text (e.g. " hi" → "Ġhi").
std::string encode(std::string_view bytes);

// Byte-level text → bytes, appended to out. Returns false (out unchanged) if `text` holds a character
// outside the alphabet or is not valid UTF-8.
bool decode(std::string_view text, std::string& out);

}  // namespace whale::byte_level
