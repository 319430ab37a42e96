// The recognizer's threads and containers: a state's threads each take the byte on their own stack (forking
// where a value may start as several anyOf alternatives), the document, objects (keys in schema order, matched
// in the trie of listed keys) and arrays. The scalar frames' steps are in recognizer_scalars.cc.
#include "grammar/recognizer.h"

#include <algorithm>

#include "grammar/recognizer_phases.h"
#include "grammar/utf8_dfa.h"

namespace whale::grammar {

using namespace detail;

namespace {

enum class Gap { kSpace, kTooLong, kOther };

// Whitespace between tokens of JSON: one run of at most kMaxWhitespace bytes.
Gap gap(Frame& f, uint8_t c) {
  if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
    f.ws = 0;
    return Gap::kOther;
  }
  if (f.ws >= kMaxWhitespace) return Gap::kTooLong;
  ++f.ws;
  return Gap::kSpace;
}

// The container whose value just ended.
void value_done(Frame& parent) {
  parent.ws = 0;
  switch (parent.kind) {
    case FrameKind::kDocument:
      parent.phase = kDocDone;
      break;
    case FrameKind::kObject:
      parent.phase = kObjAfterValue;
      break;
    case FrameKind::kArray:
      ++parent.a;
      parent.phase = kArrAfterValue;
      break;
    default:
      break;
  }
}

}  // namespace

GrammarState Recognizer::start(uint32_t node) const {
  GrammarState s;
  s.frames_.push_back({.node = node, .kind = FrameKind::kDocument, .phase = kDocBefore});
  s.ends_.push_back(1);
  return s;
}

void Recognizer::emit(const std::vector<Frame>& st, GrammarState& out) {
  if (out.ends_.size() >= kMaxThreads) return;
  size_t begin = 0;
  for (const uint32_t end : out.ends_) {
    if (end - begin == st.size() && std::equal(st.begin(), st.end(), out.frames_.begin() + ptrdiff_t(begin))) return;
    begin = end;
  }
  out.frames_.insert(out.frames_.end(), st.begin(), st.end());
  out.ends_.push_back(uint32_t(out.frames_.size()));
}

bool Recognizer::advance(const GrammarState& in, uint8_t byte, GrammarState& out) const {
  out.clear();
  for (size_t t = 0; t < in.n_threads(); ++t) {
    const std::span<const Frame> thread = in.thread(t);
    out.work_.assign(thread.begin(), thread.end());
    feed(out.work_, byte, out);
  }
  return !out.dead();
}

bool Recognizer::advance(GrammarState& s, std::string_view bytes) const {
  thread_local GrammarState next;
  for (const char c : bytes) {
    if (!advance(s, uint8_t(c), next)) {
      s.clear();
      return false;
    }
    std::swap(s.frames_, next.frames_);
    std::swap(s.ends_, next.ends_);
  }
  return !s.dead();
}

bool Recognizer::accepts(uint32_t node, std::string_view bytes) const {
  GrammarState s = start(node);
  return advance(s, bytes) && complete(s);
}

bool Recognizer::complete(const GrammarState& s) const {
  for (size_t t = 0; t < s.n_threads(); ++t) {
    const std::span<const Frame> thread = s.thread(t);
    const Frame& top = thread.back();
    if (top.kind == FrameKind::kDocument ? top.phase == kDocDone : thread.size() == 2 && scalar_complete(top))
      return true;
  }
  return false;
}

void Recognizer::feed(std::vector<Frame>& st, uint8_t c, GrammarState& out) const {
  while (true) {
    Frame& f = st.back();
    Step s = Step::kReject;
    switch (f.kind) {
      case FrameKind::kDocument:
        return document_step(st, c, out);
      case FrameKind::kObject:
        return object_step(st, c, out);
      case FrameKind::kArray:
        return array_step(st, c, out);
      case FrameKind::kString:
        s = string_step(f, c);
        break;
      case FrameKind::kFormat:
        s = format_step(f, c);
        break;
      case FrameKind::kInteger:
        s = integer_step(f, c);
        break;
      case FrameKind::kNumber:
        s = number_step(f, c);
        break;
      case FrameKind::kLiteral:
        s = literal_step(f, c);
        break;
    }
    if (s == Step::kReject) return;
    if (s == Step::kTaken) return emit(st, out);
    st.pop_back();
    value_done(st.back());
    if (s == Step::kClosed) return emit(st, out);
    // kEnded: a number or literal ended before c, which its container reads next.
  }
}

void Recognizer::start_value(std::vector<Frame>& st, uint32_t node, uint8_t c, GrammarState& out) const {
  const ValueNode& n = g_.nodes[node];
  if (n.kind == ValueKind::kUnion) {  // alternatives are never unions: each is tried on its own copy
    for (const uint32_t alt : n.alternatives) start_value(st, alt, c, out);
    return;
  }
  if (!g_.fits(node, int(st.size()) - 1)) return;
  Frame f{.node = node};
  switch (n.kind) {
    case ValueKind::kObject:
      if (c != '{') return;
      f.kind = FrameKind::kObject;
      break;
    case ValueKind::kArray:
      if (c != '[') return;
      f.kind = FrameKind::kArray;
      break;
    case ValueKind::kString:
      if (c != '"') return;
      f.kind = g_.strings[n.spec].format == StringFormat::kNone ? FrameKind::kString : FrameKind::kFormat;
      break;
    case ValueKind::kInteger:
      f.kind = FrameKind::kInteger;
      if (integer_step(f, c) != Step::kTaken) return;
      break;
    case ValueKind::kNumber:
      f.kind = FrameKind::kNumber;
      if (number_step(f, c) != Step::kTaken) return;
      break;
    case ValueKind::kLiteral:
      f.kind = FrameKind::kLiteral;
      if (literal_step(f, c) != Step::kTaken) return;
      break;
    case ValueKind::kUnion:
      return;
  }
  st.push_back(f);
  emit(st, out);
  st.pop_back();
}

void Recognizer::document_step(std::vector<Frame>& st, uint8_t c, GrammarState& out) const {
  Frame& f = st.back();
  if (f.phase == kDocDone) return;  // nothing follows the value
  const Gap g = gap(f, c);
  if (g == Gap::kSpace) return emit(st, out);
  if (g == Gap::kTooLong) return;
  f.phase = kDocValue;
  start_value(st, f.node, c, out);
}

uint64_t Recognizer::allowed_properties(const Frame& f, int depth) const {
  const ObjectSpec& o = g_.objects[g_.nodes[f.node].spec];
  const uint32_t n = uint32_t(o.properties.size()), i = f.a;
  if (i >= n) return 0;
  // From the next property up to the first required one (which may not be skipped).
  const uint32_t last = std::min(o.next_required[i], n - 1);
  const uint64_t upto = last == 63 ? ~uint64_t(0) : (uint64_t(1) << (last + 1)) - 1;
  return upto & ~((uint64_t(1) << i) - 1) & o.fits[size_t(depth)];
}

bool Recognizer::additional_allowed(const Frame& f, int depth) const {
  const ObjectSpec& o = g_.objects[g_.nodes[f.node].spec];
  return o.additional >= 0 && g_.fits(uint32_t(o.additional), depth);
}

void Recognizer::object_step(std::vector<Frame>& st, uint8_t c, GrammarState& out) const {
  Frame& f = st.back();
  const ObjectSpec& o = g_.objects[g_.nodes[f.node].spec];
  const int depth = int(st.size()) - 1;  // open containers, this one included
  if (f.phase == kObjKey || f.phase == kObjKeyEscape) {
    if (key_step(f, depth, c) != Step::kReject) emit(st, out);
    return;
  }
  const Gap g = gap(f, c);
  if (g == Gap::kSpace) return emit(st, out);
  if (g == Gap::kTooLong) return;
  const bool all_required_done = o.next_required[f.a] == o.properties.size();
  auto close = [&] {
    st.pop_back();
    value_done(st.back());
    emit(st, out);
  };
  switch (f.phase) {
    case kObjOpen:
    case kObjAfterComma:
      if (c == '"' && (allowed_properties(f, depth) != 0 || additional_allowed(f, depth))) {
        f.phase = kObjKey;
        f.aux = 0;
        f.b = o.keys.nodes[0].below != 0 ? 0 : kNoKey;
        return emit(st, out);
      }
      if (c == '}' && f.phase == kObjOpen && all_required_done) close();
      return;
    case kObjAfterKey:
      if (c == ':') {
        f.phase = kObjAfterColon;
        emit(st, out);
      }
      return;
    case kObjAfterColon: {
      f.phase = kObjValue;
      const uint32_t value = f.b == kAdditionalKey ? uint32_t(o.additional) : o.properties[f.b].value;
      return start_value(st, value, c, out);
    }
    case kObjAfterValue:
      if (c == ',' && (allowed_properties(f, depth) != 0 || additional_allowed(f, depth))) {
        f.phase = kObjAfterComma;
        emit(st, out);
      } else if (c == '}' && all_required_done) {
        close();
      }
      return;
    default:
      return;
  }
}

Recognizer::Step Recognizer::key_step(Frame& f, int depth, uint8_t c) const {
  const ObjectSpec& o = g_.objects[g_.nodes[f.node].spec];
  const uint64_t allowed = allowed_properties(f, depth);
  const bool other = additional_allowed(f, depth);
  if (f.phase == kObjKeyEscape) {
    if (c != '"' && c != '\\') return Step::kReject;
    f.phase = kObjKey;
  } else if (c == '"') {
    if (f.aux != 0) return Step::kReject;  // inside a character
    const int32_t k = f.b == kNoKey ? -1 : o.keys.nodes[f.b].value;
    if (k >= 0) {
      // A listed key is that property (in order), never another key: no duplicates.
      if (!((allowed >> k) & 1)) return Step::kReject;
      f.b = uint32_t(k);
      f.a = uint32_t(k) + 1;
    } else if (other) {
      f.b = kAdditionalKey;
    } else {
      return Step::kReject;
    }
    f.phase = kObjAfterKey;
    f.ws = 0;
    return Step::kTaken;
  } else if (c == '\\') {
    if (f.aux != 0) return Step::kReject;
    f.phase = kObjKeyEscape;
  } else {
    if (c < 0x20) return Step::kReject;
    const uint8_t u = utf8_next(f.aux, c);
    if (u == kUtf8Reject) return Step::kReject;
    f.aux = u;
  }
  // Follow the key's bytes in the trie of listed keys; kNoKey once no listed key starts so.
  if (f.b != kNoKey) {
    f.b = o.keys.child(f.b, c);
    if (f.b != kNoKey && o.keys.nodes[f.b].below == 0) f.b = kNoKey;
  }
  if (other) return Step::kTaken;
  return f.b != kNoKey && (o.keys.nodes[f.b].below & allowed) != 0 ? Step::kTaken : Step::kReject;
}

void Recognizer::array_step(std::vector<Frame>& st, uint8_t c, GrammarState& out) const {
  Frame& f = st.back();
  const ArraySpec& a = g_.arrays[g_.nodes[f.node].spec];
  const Gap g = gap(f, c);
  if (g == Gap::kSpace) return emit(st, out);
  if (g == Gap::kTooLong) return;
  auto close = [&] {
    st.pop_back();
    value_done(st.back());
    emit(st, out);
  };
  switch (f.phase) {
    case kArrOpen:
      if (c == ']') {
        if (a.min_items == 0) close();
        return;
      }
      if (a.max_items == 0) return;
      f.phase = kArrValue;
      return start_value(st, a.items, c, out);
    case kArrAfterValue:
      if (c == ',' && f.a < a.max_items) {
        f.phase = kArrAfterComma;
        emit(st, out);
      } else if (c == ']' && f.a >= a.min_items) {
        close();
      }
      return;
    case kArrAfterComma:
      f.phase = kArrValue;
      return start_value(st, a.items, c, out);
    default:
      return;
  }
}

bool Recognizer::string_body(const GrammarState& s, StringBody& body) const {
  if (s.dead()) return false;
  body = {};
  for (size_t t = 0; t < s.n_threads(); ++t) {
    const Frame& top = s.thread(t).back();
    uint32_t budget = kNoLimit;
    if (top.kind == FrameKind::kString && top.phase == kStrBody) {
      const uint32_t max = g_.strings[g_.nodes[top.node].spec].max_length;
      if (max != kNoLimit) budget = max - top.a;
    } else if (!(top.kind == FrameKind::kObject && top.phase == kObjKey && top.b == kNoKey)) {
      return false;
    }
    if (t > 0 && top.aux != body.utf8) return false;
    body.utf8 = top.aux;
    body.budget = std::max(body.budget, budget);
  }
  return true;
}

void Recognizer::add_plain_chars(GrammarState& s, uint32_t chars) const {
  size_t write = 0, begin = 0, kept = 0;
  for (size_t t = 0; t < s.ends_.size(); ++t) {
    const size_t end = s.ends_[t];
    Frame& top = s.frames_[end - 1];
    bool keep = true;
    if (top.kind == FrameKind::kString) {
      const uint32_t max = g_.strings[g_.nodes[top.node].spec].max_length;
      keep = max == kNoLimit || max - top.a >= chars;
      top.a += chars;
    }
    top.aux = 0;
    if (keep) {
      std::copy(s.frames_.begin() + ptrdiff_t(begin), s.frames_.begin() + ptrdiff_t(end),
                s.frames_.begin() + ptrdiff_t(write));
      write += end - begin;
      s.ends_[kept++] = uint32_t(write);
    }
    begin = end;
  }
  s.frames_.resize(write);
  s.ends_.resize(kept);
}

bool Recognizer::forget_key_names(const GrammarState& s, GrammarState& out) const {
  out = s;
  bool changed = false;
  for (size_t t = 0; t < out.ends_.size(); ++t) {
    const int depth = int(out.thread(t).size()) - 1;
    Frame& top = out.frames_[out.ends_[t] - 1];
    if (top.kind != FrameKind::kObject || top.phase != kObjKey || top.b == kNoKey) continue;
    if (!additional_allowed(top, depth)) return false;
    top.b = kNoKey;
    changed = true;
  }
  return changed;
}

}  // namespace whale::grammar
