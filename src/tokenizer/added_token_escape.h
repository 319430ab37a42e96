// Untrusted strings inside a prompt (chat message content, tool arguments) must not become added tokens where
// they spell one: only the chat template's own markup may. escape_added_tokens() replaces each such spelling by
// a placeholder before the template is rendered; after the rendered text is split on the added tokens the
// template wrote, restore_added_tokens() turns the placeholders in the text between them back into the
// characters they stood for, which are then BPE-encoded as ordinary text.
//
// A placeholder is U+F0000, the index into AddedVocabulary::tokens() in decimal digits U+F0010..U+F0019, then
// U+F0001 (private-use characters, so no template filter or added token touches them). Index tokens().size()
// stands for U+F0000 itself: only that character opens a placeholder, so it is the only one escaped.
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/added_vocabulary.h"

namespace whale {

// Appends `text` with every spelling of an added token (longest first, whatever its flags) and every U+F0000
// replaced by its placeholder.
void escape_added_tokens(const AddedVocabulary& added, std::string_view text, std::string& out);

// Appends `text` with every well-formed placeholder replaced by the characters it stands for; everything else
// (a malformed placeholder included) is copied as is.
void restore_added_tokens(const AddedVocabulary& added, std::string_view text, std::string& out);

// Whether `text` may hold a placeholder (restore_added_tokens would change it).
bool has_escaped_added_tokens(std::string_view text);

}  // namespace whale
