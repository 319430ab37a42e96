// String formats the grammar can generate, as byte automata with a small state: the canonical spellings of
// date ("2024-02-29": real calendar days, leap years included), time ("13:05:09", optional fraction of up to 9
// digits, then "Z" or "+hh:mm"/"-hh:mm", as RFC 3339 full-time), date-time (date "T" time), uuid (8-4-4-4-12
// hex digits, either case) and email (dot-separated atoms of [A-Za-z0-9_%+-], "@", at least two domain labels
// of letters, digits and inner hyphens). Each prefix they accept extends to a complete value; leap seconds,
// lowercase "t"/"z" and quoted local parts are valid but never generated.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "grammar/json_grammar.h"

namespace whale::grammar {

struct FormatState {
  uint32_t pos = 0;   // bytes read (date, time, uuid) or phase (email)
  uint32_t data = 0;  // what later bytes depend on: year, month, day's first digit, digits so far...
};

// The format named by a schema's "format", or nullopt when it is not supported.
std::optional<StringFormat> format_from_name(std::string_view name);

// Advances `s` over byte c; false (s unspecified) when no value of the format continues so.
bool format_step(StringFormat f, FormatState& s, uint8_t c);
// Whether the bytes read form a complete value.
bool format_complete(StringFormat f, const FormatState& s);

}  // namespace whale::grammar
