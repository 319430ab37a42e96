// A JSON schema compiled for constrained decoding (schema_compiler.h builds it): a graph of value nodes, each
// a union of alternatives or one kind of JSON value with its bounds. The recognizer (recognizer.h) walks it byte
// by byte. Immutable once built, so one grammar serves every request (and every choice) that uses the schema.
//
// What the generated text looks like (a subset of what the schema accepts, always valid for it):
// - object properties come in schema order (as OpenAI's structured outputs do); optional ones may be left out;
//   other keys (additionalProperties) may come between them and never spell a listed property's name;
// - keys are written as the schema spells them; inside keys only the escapes \" and \\ are allowed;
// - whitespace: one run of at most kMaxWhitespace bytes wherever JSON allows whitespace, none after the value;
// - numbers: at most kMaxNumberDigits digits before the point and 2 in the exponent; integers without
//   fraction or exponent, and no "-0";
// - objects and arrays nest at most kMaxDepth deep: an alternative that cannot finish within it is not taken.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whale::grammar {

inline constexpr int kMaxDepth = 16;
inline constexpr int kMaxWhitespace = 12;
inline constexpr int kMaxNumberDigits = 64;
inline constexpr int kMaxExponentDigits = 2;
inline constexpr int kMaxFractionDigits = 64;
inline constexpr int kMaxProperties = 64;    // per object: the recognizer keeps them in 64-bit masks
inline constexpr int kMaxAlternatives = 64;  // per union (anyOf, oneOf, type lists), once nested unions are flattened
inline constexpr uint32_t kNoLimit = UINT32_MAX;
inline constexpr int kNoInstance = 1 << 20;  // min_depth of a node with no instance (e.g. required recursion)

enum class ValueKind : uint8_t { kUnion, kObject, kArray, kString, kInteger, kNumber, kLiteral };
enum class StringFormat : uint8_t { kNone, kDate, kTime, kDateTime, kUuid, kEmail };

// A byte trie over a few strings (property keys, serialized enum values). Node 0 is the root.
struct SmallTrie {
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Node {
    std::vector<std::pair<uint8_t, uint32_t>> children;  // (byte, node)
    int32_t value = -1;                                  // index of the string ending here, or -1
    uint64_t below = 0;                                  // bit i: string i (i < 64) ends in this subtree
  };
  std::vector<Node> nodes{1};

  void insert(std::string_view s, int32_t value);
  uint32_t child(uint32_t node, uint8_t byte) const {
    for (const auto& [b, next] : nodes[node].children)
      if (b == byte) return next;
    return kNone;
  }
};

struct Property {
  std::string key;  // as written between the quotes (JSON-escaped)
  uint32_t value;   // node
  bool required;
};

struct ObjectSpec {
  std::vector<Property> properties;     // schema order: the order they are generated in
  int64_t additional = -1;              // value node of any other key; -1: no other key
  SmallTrie keys;                       // over properties[i].key, value i
  std::vector<uint32_t> next_required;  // [n + 1] the first required property at or after i, or n
  // [kMaxDepth + 1]: bit i of fits[d] set if property i's value fits below an object at depth d.
  std::vector<uint64_t> fits;
};

struct ArraySpec {
  uint32_t items = 0;  // node
  uint32_t min_items = 0, max_items = kNoLimit;
};

// Lengths count Unicode code points, as JSON Schema does (an escaped surrogate pair is one).
struct StringSpec {
  uint32_t min_length = 0, max_length = kNoLimit;
  StringFormat format = StringFormat::kNone;
};

struct IntegerSpec {
  std::optional<int64_t> minimum, maximum;  // inclusive
};

// enum / const: the allowed values, serialized. `rest` (a node, or -1) is what the schema says besides
// enum/const: values it rejects are dropped once the grammar is built.
struct LiteralSpec {
  std::vector<std::string> values;
  int64_t rest = -1;
  SmallTrie trie;  // over values
};

struct ValueNode {
  ValueKind kind = ValueKind::kUnion;
  uint32_t spec = 0;                   // index into the JsonGrammar vector of its kind
  std::vector<uint32_t> alternatives;  // kUnion: after compilation, never unions themselves
  int min_depth = kNoInstance;         // containers nested in its shallowest instance
};

struct JsonGrammar {
  std::vector<ValueNode> nodes;
  std::vector<ObjectSpec> objects;
  std::vector<ArraySpec> arrays;
  std::vector<StringSpec> strings;
  std::vector<IntegerSpec> integers;
  std::vector<LiteralSpec> literals;
  uint32_t root = 0;

  // Whether a value of `node` can start inside `depth` open containers and finish within kMaxDepth.
  bool fits(uint32_t node, int depth) const { return depth + nodes[node].min_depth <= kMaxDepth; }
};

}  // namespace whale::grammar
