// The operator's policy applied to one streamed channel (content or reasoning) of one response, as stop
// strings are (text_stream.h): push() returns the text that is safe to emit now and holds back text that could
// still be the start of a match, until it cannot (PCRE2 partial matching). The hold is bounded by each rule's
// max_hold_bytes; a literal rule holds less: its longest literal but one byte (counted in folded text with
// `normalize`, which also holds the last character: a combining mark could still change it). A match still
// growing past max_hold_bytes is decided on the window: the rule is matched on the held text as if the stream
// ended there (a longer match is cut there, and what follows is matched afresh); if that finds nothing, the
// oldest held bytes go out. Matches are found as in the whole text at once, however it is split into deltas.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/policy_audit.h"
#include "server/policy_file.h"

namespace whale::server {

class PolicyStream {
 public:
  // `rules` apply to `channel` (kContent or kReasoning); `audit` (may be null) records each event. Rules and
  // audit log must outlive the stream.
  PolicyStream(std::vector<const PolicyRule*> rules, PolicyChannel channel, std::string key_id, AuditLog* audit);

  // `delta`: whole UTF-8 characters (as the streaming decoder yields; invalid bytes become U+FFFD). Returns the
  // text to emit now. A stop rule ends the stream: its return is the text before the match and then the stop
  // message, stopped() becomes true and every later call returns "" (the caller cancels generation).
  std::string push(std::string_view delta);
  // End of the stream: the held text, with the rules applied as if nothing followed.
  std::string finish();
  bool stopped() const { return stopped_; }
  // Every rule that fired so far, in stream order (each also went to the audit log).
  const std::vector<PolicyEvent>& events() const { return events_; }

 private:
  std::string drain(bool at_end);
  void emit_until(size_t pos, std::string& out);
  // The match of `length` bytes at the start of the held text.
  void fire(const PolicyRule& rule, size_t length, std::string& out);
  void drop_old_context();

  std::vector<const PolicyRule*> rules_;
  PolicyChannel channel_;
  std::string key_id_;
  AuditLog* audit_;
  size_t context_chars_ = 0;  // characters of emitted text kept before the held text (\b, lookbehind)
  std::string buffer_;        // that context, then the held text
  size_t held_ = 0;           // where the held text starts in buffer_
  size_t offset_ = 0;         // offset of buffer_[held_] in the channel's text
  bool stopped_ = false;
  std::vector<PolicyEvent> events_;
};

}  // namespace whale::server
