// The tokens a grammar state allows next: every ordinary token whose bytes the recognizer accepts from that
// state. Not by testing each token: the vocabulary trie is walked depth first with the recognizer's state,
// and a prefix it rejects removes its whole subtree. Inside a string (the common case, where nearly every
// token is allowed) the precomputed string fast path of vocab_index.h replaces the walk: one pass over a table
// of characters per token, then walks of the small tries of tokens that hold a quote or backslash. A key that
// may be a listed property or any other takes the fast path as any other key, then a walk along the listed
// names corrects the tokens that follow them. What still walks the whole trie inside free text: threads whose
// strings differ in kind (anyOf of a plain string and a formatted one), about 8 ms at DeepSeek-V3's vocabulary.
//
// Work per step is bounded: after kMaxVisitedNodes trie nodes (a schema whose anyOf branches keep many
// threads inside long free-form values), the walk stops; the tokens found so far are kept and every
// single-byte token the state accepts is added, so the output stays valid and can always go on, but may
// miss longer tokens at that step (MaskStats::truncated).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "grammar/recognizer.h"
#include "grammar/vocab_index.h"

namespace whale::grammar {

inline constexpr size_t kMaxVisitedNodes = 1'000'000;

struct MaskStats {
  size_t visited = 0;      // trie nodes walked
  bool fast_path = false;  // the string fast path was used
  bool truncated = false;  // kMaxVisitedNodes was reached
};

class TokenMasker {
 public:
  // max_visited: the bound on trie nodes per mask (tests lower it).
  TokenMasker(const JsonGrammar& grammar, const VocabIndex& index, size_t max_visited = kMaxVisitedNodes);
  // allowed = [index.size()]: 1 for the tokens `state` allows, 0 for the others (special and added tokens too).
  MaskStats compute(const GrammarState& state, std::vector<uint8_t>& allowed);

 private:
  // Marks the entries of `trie` whose payload meets `payload_mask` and whose bytes `from` accepts.
  void walk(const TokenTrie& trie, const GrammarState& from, uint8_t payload_mask, std::vector<uint8_t>& allowed,
            MaskStats& stats);
  // The string fast path at a state that string_body accepts.
  void string_mask(const GrammarState& state, const StringBody& body, std::vector<uint8_t>& allowed, MaskStats& stats);
  // Corrects `allowed`, computed for `forgotten` (`from` with its keys' listed names forgotten), along the
  // prefixes that still spell listed names.
  void walk_key_names(const GrammarState& from, const GrammarState& forgotten, std::vector<uint8_t>& allowed,
                      MaskStats& stats);
  // After truncation: the trie's single-byte tokens.
  void single_bytes(const GrammarState& from, std::vector<uint8_t>& allowed);

  Recognizer recognizer_;
  const VocabIndex& index_;
  size_t max_visited_;
  std::vector<GrammarState> depth_;            // [trie depth + 1] the state after each byte of the current path
  std::vector<GrammarState> forgotten_depth_;  // walk_key_names: the same from the forgotten state
  GrammarState body_, forgotten_;
};

}  // namespace whale::grammar
