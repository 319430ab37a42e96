#include "grammar/json_grammar.h"

namespace whale::grammar {

void SmallTrie::insert(std::string_view s, int32_t value) {
  uint32_t node = 0;
  const uint64_t bit = value >= 0 && value < 64 ? uint64_t(1) << value : 0;
  nodes[0].below |= bit;
  for (const char ch : s) {
    const uint8_t byte = uint8_t(ch);
    uint32_t next = child(node, byte);
    if (next == kNone) {
      next = uint32_t(nodes.size());
      nodes[node].children.emplace_back(byte, next);
      nodes.emplace_back();
    }
    node = next;
    nodes[node].below |= bit;
  }
  if (nodes[node].value < 0) nodes[node].value = value;
}

}  // namespace whale::grammar
