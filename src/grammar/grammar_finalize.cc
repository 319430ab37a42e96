#include "grammar/grammar_finalize.h"

#include <algorithm>

#include "grammar/recognizer.h"
#include "grammar/schema_compiler.h"

namespace whale::grammar {
namespace {

// The non-union nodes a union stands for; `state` 1 marks the unions being expanded (a cycle), 2 done ones.
void flatten(JsonGrammar& g, uint32_t node, std::vector<uint8_t>& state) {
  if (state[node] == 2) return;
  if (state[node] == 1)
    throw SchemaError("JSON schema has a cycle of $ref/anyOf without an object or array in between (not supported)");
  state[node] = 1;
  std::vector<uint32_t> leaves;
  // Each alternative is tried at every value start: a bound keeps a mask step cheap.
  auto add = [&](uint32_t leaf) {
    if (std::find(leaves.begin(), leaves.end(), leaf) != leaves.end()) return;
    if (leaves.size() == size_t(kMaxAlternatives))
      throw SchemaError(
          fmt::format("JSON schema has a union (anyOf, oneOf, type list) of more than {} alternatives "
                      "(not supported)",
                      kMaxAlternatives));
    leaves.push_back(leaf);
  };
  for (const uint32_t alt : g.nodes[node].alternatives) {
    if (g.nodes[alt].kind != ValueKind::kUnion) {
      add(alt);
      continue;
    }
    flatten(g, alt, state);
    for (const uint32_t leaf : g.nodes[alt].alternatives) add(leaf);
  }
  g.nodes[node].alternatives = std::move(leaves);
  state[node] = 2;
}

int node_min_depth(const JsonGrammar& g, const ValueNode& n) {
  switch (n.kind) {
    case ValueKind::kUnion: {
      int best = kNoInstance;
      for (const uint32_t alt : n.alternatives) best = std::min(best, g.nodes[alt].min_depth);
      return best;
    }
    case ValueKind::kObject: {
      int deepest = 0;
      for (const Property& p : g.objects[n.spec].properties)
        if (p.required) deepest = std::max(deepest, g.nodes[p.value].min_depth);
      return std::min(kNoInstance, 1 + deepest);
    }
    case ValueKind::kArray: {
      const ArraySpec& a = g.arrays[n.spec];
      return std::min(kNoInstance, 1 + (a.min_items > 0 ? g.nodes[a.items].min_depth : 0));
    }
    case ValueKind::kLiteral:
      return g.literals[n.spec].values.empty() ? kNoInstance : 0;
    default:
      return 0;
  }
}

// min_depth by a fixpoint from "no instance": each pass can only lower a node's value.
void compute_depths(JsonGrammar& g) {
  for (ValueNode& n : g.nodes) n.min_depth = kNoInstance;
  for (bool changed = true; changed;) {
    changed = false;
    for (ValueNode& n : g.nodes) {
      const int d = node_min_depth(g, n);
      if (d < n.min_depth) n.min_depth = d, changed = true;
    }
  }
  for (ObjectSpec& o : g.objects) {
    o.fits.assign(size_t(kMaxDepth) + 1, 0);
    for (int depth = 0; depth <= kMaxDepth; ++depth)
      for (size_t i = 0; i < o.properties.size(); ++i)
        if (g.fits(o.properties[i].value, depth)) o.fits[size_t(depth)] |= uint64_t(1) << i;
  }
}

void build_literal_trie(LiteralSpec& l) {
  l.trie = {};
  for (size_t i = 0; i < l.values.size(); ++i) l.trie.insert(l.values[i], int32_t(i));
}

// Drops the enum/const values their schema's other keywords reject; true if one was dropped.
bool filter_literals(JsonGrammar& g) {
  const Recognizer recognizer(g);
  bool changed = false;
  for (LiteralSpec& l : g.literals) {
    if (l.rest < 0) continue;
    std::vector<std::string> kept;
    for (const std::string& v : l.values)
      if (recognizer.accepts(uint32_t(l.rest), v)) kept.push_back(v);
    if (kept.size() == l.values.size()) continue;
    l.values = std::move(kept);
    build_literal_trie(l);
    changed = true;
  }
  return changed;
}

}  // namespace

void finalize_grammar(JsonGrammar& g) {
  std::vector<uint8_t> state(g.nodes.size(), 0);
  for (uint32_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].kind == ValueKind::kUnion) flatten(g, i, state);
  for (ObjectSpec& o : g.objects) {
    o.keys = {};
    o.next_required.assign(o.properties.size() + 1, uint32_t(o.properties.size()));
    for (size_t i = o.properties.size(); i-- > 0;) {
      o.next_required[i] = o.properties[i].required ? uint32_t(i) : o.next_required[i + 1];
      o.keys.insert(o.properties[i].key, int32_t(i));
    }
  }
  for (LiteralSpec& l : g.literals) build_literal_trie(l);
  compute_depths(g);
  while (filter_literals(g)) compute_depths(g);
  const int depth = g.nodes[g.root].min_depth;
  if (depth >= kNoInstance) throw SchemaError("JSON schema admits no value (e.g. a required property without one)");
  if (depth > kMaxDepth)
    throw SchemaError(
        fmt::format("JSON schema needs {} nested objects or arrays; at most {} are supported", depth, kMaxDepth));
}

}  // namespace whale::grammar
