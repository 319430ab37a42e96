// Strict parsing of numeric answers: optional surrounding ASCII whitespace, an optional sign, ASCII digits
// only. Unicode digits (Arabic-Indic, full-width, superscripts), separators, decimals and exponents are
// rejected. Integers of any length are handled as canonical digit strings, so huge numbers never overflow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rl/tasks/task.h"

namespace whale::rl {

std::string_view trim_ascii(std::string_view text);

// "+007" → "7", "-0" → "0", " -12 " → "-12"; nullopt for anything else.
std::optional<std::string> canonical_integer(std::string_view text);

// canonical_integer, then nullopt when the value does not fit in int64.
std::optional<int64_t> parse_int64(std::string_view text);

// Verdict for an integer answer against the canonical ground truth (key: the canonical integer).
Verification verify_integer(std::string_view answer, std::string_view truth);

}  // namespace whale::rl
