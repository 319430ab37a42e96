#include "server/policy_stream.h"

#include <algorithm>
#include <optional>

#include "server/policy_fold.h"
#include "tokenizer/utf8.h"

namespace whale::server {
namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t next_boundary(std::string_view s, size_t pos) {
  while (pos < s.size() && is_continuation(s[pos])) ++pos;
  return pos;
}

// What one rule says about the held text buffer[held, end): no match of it can start before `safe`, except
// `matched`: its leftmost match [begin, end), decided (begin == safe).
struct RuleView {
  size_t safe = 0;
  bool matched = false;
  size_t begin = 0, end = 0;
};

// The rules against one state of the buffer. A rule's view stays valid while the held text starts at or
// before its `safe` (searching on from a later start finds the same), so each step of a drain re-runs only
// the rules whose view the last match consumed, and the buffer is folded once: linear work on long texts.
class Scan {
 public:
  Scan(const std::vector<const PolicyRule*>& rules, std::string_view buffer, bool at_end)
      : rules_(rules), buffer_(buffer), at_end_(at_end), views_(rules.size()) {}

  const RuleView& view(size_t i, size_t held) {
    if (!views_[i] || views_[i]->safe < held) views_[i] = evaluate(*rules_[i], held);
    return *views_[i];
  }

 private:
  RuleView evaluate(const PolicyRule& rule, size_t held) {
    const size_t end = buffer_.size();
    const FoldedText* folded = rule.pattern.normalize() ? &folded_until(horizon(rule, held)) : nullptr;
    const std::string_view subject = folded ? std::string_view(folded->text()) : buffer_;
    auto begin_of = [&](size_t p) { return folded ? folded->original_begin(p) : p; };
    auto end_of = [&](size_t p) { return folded ? folded->original_end(p) : p; };

    const size_t start = folded ? folded->folded_pos(held) : held;
    PatternMatch m = rule.pattern.find(subject, start, /*partial=*/!at_end_);
    if (m.kind == PatternMatch::Kind::kPartial && end - begin_of(m.begin) > rule.max_hold_bytes) {
      m = rule.pattern.find(subject, start, /*partial=*/false);  // decided on the window
      if (m.kind != PatternMatch::Kind::kComplete) return {.safe = next_boundary(buffer_, end - rule.max_hold_bytes)};
    }
    switch (m.kind) {
      case PatternMatch::Kind::kNone: return {.safe = folded ? folded_horizon_ : end};
      case PatternMatch::Kind::kPartial: return {.safe = begin_of(m.begin)};
      case PatternMatch::Kind::kComplete: break;
    }
    const size_t begin = begin_of(m.begin);
    return {.safe = begin, .matched = true, .begin = begin, .end = end_of(m.end)};
  }

  // A normalizing rule reads folded text up to where the folding of the text so far is final: the last
  // segment can still change while the stream goes on (unless it outgrows the rule's hold).
  size_t horizon(const PolicyRule& rule, size_t held) {
    if (at_end_) return buffer_.size();
    if (!last_boundary_) last_boundary_ = last_fold_boundary(buffer_);
    const size_t h = std::max(held, *last_boundary_);
    return buffer_.size() - h > rule.max_hold_bytes ? buffer_.size() : h;
  }

  const FoldedText& folded_until(size_t horizon) {
    if (!folded_ || folded_horizon_ != horizon) {
      folded_.emplace(buffer_.substr(0, horizon));
      folded_horizon_ = horizon;
    }
    return *folded_;
  }

  const std::vector<const PolicyRule*>& rules_;
  std::string_view buffer_;
  bool at_end_;
  std::vector<std::optional<RuleView>> views_;
  std::optional<size_t> last_boundary_;
  std::optional<FoldedText> folded_;
  size_t folded_horizon_ = 0;
};

}  // namespace

PolicyStream::PolicyStream(std::vector<const PolicyRule*> rules, PolicyChannel channel, std::string key_id,
                           AuditLog* audit)
    : rules_(std::move(rules)), channel_(channel), key_id_(std::move(key_id)), audit_(audit) {
  for (const PolicyRule* r : rules_) context_chars_ = std::max(context_chars_, r->pattern.max_lookbehind());
}

std::string PolicyStream::push(std::string_view delta) {
  if (stopped_) return {};
  if (rules_.empty()) return std::string(delta);
  utf8::append_lossy(delta, buffer_);
  return drain(/*at_end=*/false);
}

std::string PolicyStream::finish() {
  if (stopped_) return {};
  return drain(/*at_end=*/true);
}

std::string PolicyStream::drain(bool at_end) {
  std::string out;
  Scan scan(rules_, buffer_, at_end);
  while (!stopped_ && held_ < buffer_.size()) {
    // The first rule that could start a match at the cut decides: if its match there is complete, it fires
    // (no rule can start one earlier, no earlier rule at the same place); otherwise everything waits for it.
    size_t cut = buffer_.size();
    for (size_t i = 0; i < rules_.size(); ++i) cut = std::min(cut, scan.view(i, held_).safe);
    size_t first = 0;
    while (scan.view(first, held_).safe != cut) ++first;
    const RuleView& v = scan.view(first, held_);
    emit_until(cut, out);
    if (!v.matched) break;
    fire(*rules_[first], v.end - v.begin, out);
  }
  if (!stopped_) drop_old_context();
  return out;
}

void PolicyStream::emit_until(size_t pos, std::string& out) {
  out.append(buffer_, held_, pos - held_);
  offset_ += pos - held_;
  held_ = pos;
}

void PolicyStream::fire(const PolicyRule& rule, size_t length, std::string& out) {
  PolicyEvent event{.time = std::chrono::system_clock::now(),
                    .key_id = key_id_,
                    .rule = rule.name,
                    .action = rule.action,
                    .channel = channel_,
                    .begin = offset_,
                    .end = offset_ + length,
                    .text = buffer_.substr(held_, length)};
  if (rule.action == PolicyAction::kStop) {
    out += rule.stop_message;
    stopped_ = true;
    buffer_.clear();
    held_ = 0;
  } else {
    out += rule.action == PolicyAction::kRedact ? rule.replacement : event.text;
    held_ += length;
    offset_ += length;
  }
  if (audit_) audit_->record(event);
  events_.push_back(std::move(event));
}

void PolicyStream::drop_old_context() {
  size_t keep = held_;  // keeps context_chars_ characters before the held text
  for (size_t n = 0; n < context_chars_ && keep > 0; ++n) {
    --keep;
    while (keep > 0 && is_continuation(buffer_[keep])) --keep;
  }
  buffer_.erase(0, keep);
  held_ -= keep;
}

}  // namespace whale::server
