// A byte trie over token byte strings, stored in preorder so that a depth-first walk is a loop over an array:
// node i's subtree is [i, end), its children follow it, and skipping a subtree is a jump to `end`. Built once
// per tokenizer (vocab_index.h); a mask step walks it with the recognizer and jumps over dead prefixes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace whale::grammar {

class TokenTrie {
 public:
  struct Node {
    uint32_t end = 0;     // one past the last node of this subtree
    uint32_t tokens = 0;  // first entry in tokens() of the tokens whose bytes end here
    uint16_t depth = 0;   // bytes from the root
    uint8_t byte = 0;     // the byte of the edge from the parent
  };
  struct Entry {
    std::string_view bytes;  // non-empty
    int32_t id;
    uint8_t payload = 0;
  };

  // `entries` in any order; equal byte strings share a node.
  static TokenTrie build(std::vector<Entry> entries);

  // nodes()[0] is the root (no byte); a sentinel after the last node ends its token range.
  size_t size() const { return nodes_.size() - 1; }
  const Node& node(size_t i) const { return nodes_[i]; }
  // Token entries ending at node i: [node(i).tokens, node(i + 1).tokens).
  uint32_t tokens_end(size_t i) const { return nodes_[i + 1].tokens; }
  int32_t token(uint32_t entry) const { return ids_[entry]; }
  uint8_t payload(uint32_t entry) const { return payloads_[entry]; }
  uint16_t max_depth() const { return max_depth_; }

 private:
  std::vector<Node> nodes_;
  std::vector<int32_t> ids_;
  std::vector<uint8_t> payloads_;
  uint16_t max_depth_ = 0;
};

}  // namespace whale::grammar
