// Tokenizer regexes as HF tokenizers (Oniguruma) and llama.cpp read them, for PCRE2 to compile. Both classify
// characters by a newer Unicode version than Debian's PCRE2 (10.42: Unicode 14), and their \s is the
// White_Space property, which PCRE2's \s (with UCP) exceeds by U+180E MONGOLIAN VOWEL SEPARATOR.
#pragma once

#include <string>
#include <string_view>

namespace whale {

// Rewrites `pattern` so that PCRE2 matches what HF does: \s and \S become \p{White_Space} and
// \P{White_Space}, and every general-category property (\p{L}, \pN, \p{Nd}, \P{S}, classes holding them)
// also covers the characters that ICU's newer Unicode data assigns to the category but PCRE2 leaves
// unassigned. Left as is: a negated property inside a class ([\P{L}x]), which cannot shed characters
// without class set operations. Malformed patterns come back in a form that PCRE2 still rejects.
std::string with_hf_character_classes(std::string_view pattern);

// True if `text` (UTF-8) holds a character that the rewrite reclassifies (U+180E or a newer character): on
// any other text a pattern matches the same, rewritten or not.
bool has_reclassified_characters(std::string_view text);

}  // namespace whale
