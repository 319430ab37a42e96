#include "grammar/token_trie.h"

#include <algorithm>

#include "core/error.h"

namespace whale::grammar {

TokenTrie TokenTrie::build(std::vector<Entry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.bytes < b.bytes || (a.bytes == b.bytes && a.id < b.id); });
  TokenTrie t;
  t.nodes_.push_back({});
  // Sorted strings make a preorder: each string shares with the previous one the path down to their common
  // prefix (popped nodes are complete: their subtree ends here) and adds nodes for the rest of its bytes.
  std::vector<uint32_t> path = {0};  // nodes from the root to the last string's node
  std::string_view previous;
  for (const Entry& e : entries) {
    WHALE_CHECK(!e.bytes.empty() && e.bytes.size() < 0xFFFF);
    size_t common = 0;
    while (common < previous.size() && common < e.bytes.size() && previous[common] == e.bytes[common]) ++common;
    while (path.size() > common + 1) {
      t.nodes_[path.back()].end = uint32_t(t.nodes_.size());
      path.pop_back();
    }
    for (size_t d = common; d < e.bytes.size(); ++d) {
      path.push_back(uint32_t(t.nodes_.size()));
      t.nodes_.push_back({.tokens = uint32_t(t.ids_.size()), .depth = uint16_t(d + 1), .byte = uint8_t(e.bytes[d])});
    }
    t.ids_.push_back(e.id);  // at the last node: sorted order never makes a string a prefix of the previous one
    t.payloads_.push_back(e.payload);
    t.max_depth_ = std::max(t.max_depth_, uint16_t(e.bytes.size()));
    previous = e.bytes;
  }
  for (; !path.empty(); path.pop_back()) t.nodes_[path.back()].end = uint32_t(t.nodes_.size());
  t.nodes_.push_back({.tokens = uint32_t(t.ids_.size())});  // sentinel
  return t;
}

}  // namespace whale::grammar
