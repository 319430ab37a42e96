// The byte-level recognizer of a JsonGrammar: a pushdown automaton whose stack holds one frame per open JSON
// value (the document, then the open objects and arrays, then at most one string, number or literal). anyOf
// makes it nondeterministic, so a state is a small set of such stacks ("threads"), each a parse of the bytes
// so far; equal threads are merged and at most kMaxThreads kept (the others are dropped, which only narrows
// what can be generated).
//
// Every state the recognizer reaches can still finish a valid document (a frame is only pushed when its value
// can complete within kMaxDepth, and each bounded value checks that its bounds can still be met), so a byte
// it accepts never leads into a dead end: masking the tokens whose bytes it rejects is enough.
// UTF-8 is checked inside strings and keys, one byte at a time, so tokens may split a character.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "grammar/json_grammar.h"

namespace whale::grammar {

inline constexpr size_t kMaxThreads = 8;

enum class FrameKind : uint8_t { kDocument, kObject, kArray, kString, kFormat, kInteger, kNumber, kLiteral };

// One open value. Plain bytes, no padding: threads are compared with ==.
struct Frame {
  uint32_t node = 0;  // the ValueNode (the document: the root)
  FrameKind kind = FrameKind::kDocument;
  uint8_t phase = 0;  // where in the value (per kind, recognizer.cc)
  uint8_t ws = 0;     // bytes of the whitespace run being read
  uint8_t aux = 0;    // strings and keys: UTF-8 state; numbers: digits of the current run
  uint32_t a = 0;     // object: next property; array: items; string: characters; format: position
  uint32_t b = 0;     // object: key trie node, then the chosen property; string: \u code unit; format: data
  bool operator==(const Frame&) const = default;
};

class GrammarState {
 public:
  bool dead() const { return ends_.empty(); }
  size_t n_threads() const { return ends_.size(); }
  std::span<const Frame> thread(size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::span(frames_).subspan(begin, ends_[i] - begin);
  }
  void clear() {
    frames_.clear();
    ends_.clear();
  }
  // The same threads in the same order.
  bool same_threads(const GrammarState& other) const { return ends_ == other.ends_ && frames_ == other.frames_; }

 private:
  friend class Recognizer;
  std::vector<Frame> frames_;   // the threads' stacks, one after the other
  std::vector<uint32_t> ends_;  // [n_threads] end of each thread in frames_
  std::vector<Frame> work_;     // scratch stack of advance()
};

// The top frame of every thread reads plain characters of a string or key the same way (the string fast path
// of token_mask.h): what the next bytes may be is the same for all threads until a quote or backslash.
struct StringBody {
  uint8_t utf8 = 0;     // UTF-8 state shared by the threads
  uint32_t budget = 0;  // the most characters a thread may still add (kNoLimit: any number)
};

class Recognizer {
 public:
  explicit Recognizer(const JsonGrammar& grammar) : g_(grammar) {}

  // Before the first byte of a document whose value is `node` (the grammar's root by default).
  GrammarState start() const { return start(g_.root); }
  GrammarState start(uint32_t node) const;
  // out = the threads of `in` that accept `byte`; false (out dead) when none does. `in` and `out` must differ.
  bool advance(const GrammarState& in, uint8_t byte, GrammarState& out) const;
  // Advances `s` over `bytes`; false (s dead) at the first byte no thread accepts.
  bool advance(GrammarState& s, std::string_view bytes) const;
  // Whether the bytes so far are a complete document (the output may end here).
  bool complete(const GrammarState& s) const;
  // Whether `bytes` is a complete document of `node`.
  bool accepts(uint32_t node, std::string_view bytes) const;

  // The string fast path: set when every thread's top frame is a plain string body (no format, outside an
  // escape) or a key that can no longer spell a listed property, all at the same UTF-8 state.
  bool string_body(const GrammarState& s, StringBody& body) const;
  // `s` after `chars` more plain characters ending at a character boundary (string_body must hold): threads
  // without room for them are dropped.
  void add_plain_chars(GrammarState& s, uint32_t chars) const;
  // Keys that may still spell a listed property but may also be any other key: plain characters are accepted in
  // them either way, and once they spell no listed key any more they read on as any other key does.
  // forget_key_names: `out` = `s` with those keys taken as spelling no listed key; false when `s` has none, or
  // has a key that must spell a listed one.
  bool forget_key_names(const GrammarState& s, GrammarState& out) const;

 private:
  enum class Step { kReject, kTaken, kClosed, kEnded };
  // Appends to `out` the threads that stack `st` becomes on byte c (st is consumed).
  void feed(std::vector<Frame>& st, uint8_t c, GrammarState& out) const;
  // Pushes each alternative of `node` that byte c can start and fits, appending each resulting thread.
  void start_value(std::vector<Frame>& st, uint32_t node, uint8_t c, GrammarState& out) const;
  void document_step(std::vector<Frame>& st, uint8_t c, GrammarState& out) const;
  void object_step(std::vector<Frame>& st, uint8_t c, GrammarState& out) const;
  void array_step(std::vector<Frame>& st, uint8_t c, GrammarState& out) const;
  Step key_step(Frame& f, int depth, uint8_t c) const;
  Step string_step(Frame& f, uint8_t c) const;
  Step format_step(Frame& f, uint8_t c) const;
  Step integer_step(Frame& f, uint8_t c) const;
  Step number_step(Frame& f, uint8_t c) const;
  Step literal_step(Frame& f, uint8_t c) const;
  // The scalar on top of a thread is complete (its value may end here).
  bool scalar_complete(const Frame& f) const;
  // The keys an object at `depth` may take next: listed properties (bits) and whether others may come.
  uint64_t allowed_properties(const Frame& f, int depth) const;
  bool additional_allowed(const Frame& f, int depth) const;
  static void emit(const std::vector<Frame>& st, GrammarState& out);

  const JsonGrammar& g_;
};

}  // namespace whale::grammar
