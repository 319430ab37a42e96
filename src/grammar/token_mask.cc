#include "grammar/token_mask.h"

#include <algorithm>

namespace whale::grammar {

TokenMasker::TokenMasker(const JsonGrammar& grammar, const VocabIndex& index, size_t max_visited)
    : recognizer_(grammar), index_(index), max_visited_(max_visited) {
  uint16_t depth = index.trie().max_depth();
  for (const VocabIndex::QuoteGroup& g : index.quote_groups()) depth = std::max(depth, g.suffixes.max_depth());
  depth_.resize(size_t(depth) + 1);
  forgotten_depth_.resize(depth_.size());
}

MaskStats TokenMasker::compute(const GrammarState& state, std::vector<uint8_t>& allowed) {
  MaskStats stats;
  allowed.assign(size_t(index_.size()), 0);
  if (state.dead()) return stats;
  StringBody body;
  if (recognizer_.string_body(state, body)) {
    string_mask(state, body, allowed, stats);
  } else if (recognizer_.forget_key_names(state, forgotten_) && recognizer_.string_body(forgotten_, body)) {
    // A key that may be a listed property or any other: the tokens that leave the listed keys' trie behave as
    // in any other key, the few that follow it are walked.
    string_mask(forgotten_, body, allowed, stats);
    walk_key_names(state, forgotten_, allowed, stats);
  } else {
    walk(index_.trie(), state, 0xFF, allowed, stats);
  }
  if (stats.truncated) single_bytes(state, allowed);
  return stats;
}

void TokenMasker::string_mask(const GrammarState& state, const StringBody& body, std::vector<uint8_t>& allowed,
                              MaskStats& stats) {
  stats.fast_path = true;
  // Plain tokens: allowed when some thread has room for their characters.
  const uint16_t limit = uint16_t(std::min<uint32_t>(body.budget, VocabIndex::kNotPlain - 1));
  const uint16_t* chars = index_.plain_chars(body.utf8).data();
  uint8_t* out = allowed.data();
  for (size_t i = 0; i < allowed.size(); ++i) out[i] = chars[i] <= limit;
  // Tokens with a quote or backslash after `chars` plain characters: the recognizer reads the rest of them from
  // the state those characters lead to.
  for (const VocabIndex::QuoteGroup& g : index_.quote_groups()) {
    if (g.chars > body.budget) break;  // groups come by increasing characters
    body_ = state;
    recognizer_.add_plain_chars(body_, g.chars);
    if (!body_.dead()) walk(g.suffixes, body_, uint8_t(1u << body.utf8), allowed, stats);
  }
}

void TokenMasker::walk_key_names(const GrammarState& from, const GrammarState& forgotten, std::vector<uint8_t>& allowed,
                                 MaskStats& stats) {
  // `allowed` holds the answer from `forgotten`. It holds for every token with a prefix after which both states
  // are the same (from there on both read the same); the walk follows the prefixes where they still differ.
  const TokenTrie& trie = index_.trie();
  depth_[0] = from;
  forgotten_depth_[0] = forgotten;
  for (size_t i = 1; i < trie.size();) {
    if (stats.visited >= max_visited_) {  // what was not walked is not known to be allowed
      for (uint32_t e = trie.node(i).tokens; e < trie.tokens_end(trie.size() - 1); ++e)
        allowed[size_t(trie.token(e))] = 0;
      stats.truncated = true;
      return;
    }
    ++stats.visited;
    const TokenTrie::Node& node = trie.node(i);
    const size_t d = node.depth;
    if (!recognizer_.advance(depth_[d - 1], node.byte, depth_[d])) {
      for (uint32_t e = node.tokens; e < trie.node(node.end).tokens; ++e) allowed[size_t(trie.token(e))] = 0;
      i = node.end;
      continue;
    }
    recognizer_.advance(forgotten_depth_[d - 1], node.byte, forgotten_depth_[d]);
    if (depth_[d].same_threads(forgotten_depth_[d])) {
      i = node.end;
      continue;
    }
    for (uint32_t e = node.tokens; e < trie.tokens_end(i); ++e) allowed[size_t(trie.token(e))] = 1;
    ++i;
  }
}

void TokenMasker::walk(const TokenTrie& trie, const GrammarState& from, uint8_t payload_mask,
                       std::vector<uint8_t>& allowed, MaskStats& stats) {
  depth_[0] = from;
  for (size_t i = 1; i < trie.size();) {
    if (stats.visited >= max_visited_) {
      stats.truncated = true;
      return;
    }
    ++stats.visited;
    const TokenTrie::Node& node = trie.node(i);
    if (!recognizer_.advance(depth_[node.depth - 1u], node.byte, depth_[node.depth])) {
      i = node.end;  // no token below starts so
      continue;
    }
    for (uint32_t e = node.tokens; e < trie.tokens_end(i); ++e)
      if (trie.payload(e) & payload_mask) allowed[size_t(trie.token(e))] = 1;
    ++i;
  }
}

void TokenMasker::single_bytes(const GrammarState& from, std::vector<uint8_t>& allowed) {
  const TokenTrie& trie = index_.trie();
  for (size_t i = 1; i < trie.size(); i = trie.node(i).end)  // the root's children
    if (recognizer_.advance(from, trie.node(i).byte, depth_[1]))
      for (uint32_t e = trie.node(i).tokens; e < trie.tokens_end(i); ++e) allowed[size_t(trie.token(e))] = 1;
}

}  // namespace whale::grammar
