#include "server/policy_audit.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace whale::server {

std::string policy_event_json(const PolicyEvent& event, bool with_text) {
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(event.time.time_since_epoch()).count();
  nlohmann::json j = {
      {"time", fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(std::time_t(ms / 1000)), ms % 1000)},
      {"key_id", event.key_id},
      {"rule", event.rule},
      {"action", policy_action_name(event.action)},
      {"channel", policy_channel_name(event.channel)},
      {"begin", event.begin},
      {"end", event.end}};
  if (with_text) j["text"] = event.text;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AuditLog::AuditLog(const std::vector<PolicyRule>& rules, const std::filesystem::path& file, bool audit_text)
    : file_(file), audit_text_(audit_text) {
  for (const PolicyRule& r : rules) counts_[{r.name, r.action}] = 0;
  if (file.empty()) return;
  out_.open(file, std::ios::app | std::ios::binary);
  if (!out_) fail("{}: cannot open the policy audit log: {}", file.string(), std::strerror(errno));
}

void AuditLog::record(const PolicyEvent& event) {
  const std::string line = out_.is_open() ? policy_event_json(event, audit_text_) + "\n" : "";
  std::lock_guard lock(mutex_);
  ++counts_[{event.rule, event.action}];
  if (!out_.is_open()) return;
  out_ << line;
  out_.flush();
  if (!out_ && !warned_) {
    warned_ = true;
    fmt::print(stderr, "whale: cannot write the policy audit log {}\n", file_.string());
  }
}

std::string AuditLog::render_prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out =
      "# HELP whale_policy_actions_total Rules of the operator's policy that fired, by rule and action.\n"
      "# TYPE whale_policy_actions_total counter\n";
  for (const auto& [key, n] : counts_)
    out += fmt::format("whale_policy_actions_total{{rule=\"{}\",action=\"{}\"}} {}\n", key.first,
                       policy_action_name(key.second), n);
  return out;
}

}  // namespace whale::server
