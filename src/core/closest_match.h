// "Did you mean" hints: the candidate closest to a misspelt word (config keys, subcommands, flags).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace whale {

// The closest candidate within max(2, len/3) edits (a prefix either way counts as one), or "".
std::string closest_match(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace whale
