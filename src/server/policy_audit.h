// What the operator's policy did: one PolicyEvent per fired rule, appended as a JSON line to the audit log
// (`audit_log` in the policy file; the matched text only with `audit_text = true`) and counted per (rule,
// action) for /metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/policy_file.h"

namespace whale::server {

struct PolicyEvent {
  std::chrono::system_clock::time_point time;
  std::string key_id, rule;
  PolicyAction action = PolicyAction::kFlag;
  PolicyChannel channel = PolicyChannel::kContent;
  size_t begin = 0, end = 0;  // byte offsets of the match in the channel's text as streamed (or in the prompt)
  std::string text;           // the matched text
};

// {"time":"2025-01-31T12:00:00.123Z","key_id":…,"rule":…,"action":…,"channel":…,"begin":…,"end":…}, and
// "text":… with `with_text`.
std::string policy_event_json(const PolicyEvent& event, bool with_text);

class AuditLog {
 public:
  // Counters start at 0 for each rule's action. `file` empty: counters only; else opened for appending (a
  // whale::Error naming it when it cannot be).
  AuditLog(const std::vector<PolicyRule>& rules, const std::filesystem::path& file, bool audit_text);

  // Thread-safe; the line is flushed before this returns. A failed write warns once on stderr.
  void record(const PolicyEvent& event);
  // whale_policy_actions_total{rule="…",action="…"} N lines, with HELP and TYPE.
  std::string render_prometheus() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, PolicyAction>, int64_t> counts_;
  std::filesystem::path file_;
  std::ofstream out_;
  bool audit_text_ = false;
  bool warned_ = false;
};

}  // namespace whale::server
