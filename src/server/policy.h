// The operator's output policy ("vetting layer"), off unless `whale serve --policy FILE.toml` names a file
// (format: policy_file.h). Policy owns the rules and the audit log; for_key() gives the rules of one API key,
// which check prompts and make the PolicyStream (policy_stream.h) of each streamed channel of a response.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/policy_audit.h"
#include "server/policy_file.h"
#include "server/policy_stream.h"

namespace whale::server {

struct PromptRejection {
  std::string rule;
  std::string message;  // for the client
};

// The rules one API key gets. Cheap to copy; the Policy must outlive it and its streams.
class KeyPolicy {
 public:
  KeyPolicy(std::vector<const PolicyRule*> rules, std::string key_id, AuditLog* audit)
      : rules_(std::move(rules)), key_id_(std::move(key_id)), audit_(audit) {}

  bool empty() const { return rules_.empty(); }
  const std::vector<const PolicyRule*>& rules() const { return rules_; }
  // The prompt rules (applies_to "prompt") on `text`, scanned as a stream that ends there: each match up to
  // the first stop is an event; a stop or redact match rejects the request (the first one names the rule).
  std::optional<PromptRejection> check_prompt(std::string_view text) const;
  // The stream for one channel (kContent or kReasoning) of a response: the rules that apply to it.
  PolicyStream stream(PolicyChannel channel) const;

 private:
  std::vector<const PolicyRule*> rules_;
  std::string key_id_;
  AuditLog* audit_;
};

class Policy {
 public:
  // Parses the file and opens its audit log; whale::Error naming file and line on any problem.
  static Policy load(const std::filesystem::path& file);
  static Policy parse(std::string_view toml_text, const std::filesystem::path& source);

  // The [keys] entry of `key_id`, else [defaults] rules (all rules unless set).
  KeyPolicy for_key(std::string_view key_id) const;
  const std::vector<PolicyRule>& rules() const { return file_.rules; }
  std::string render_prometheus() const { return audit_->render_prometheus(); }

 private:
  explicit Policy(PolicyFile file);

  PolicyFile file_;
  std::unique_ptr<AuditLog> audit_;  // stable address for the KeyPolicies and streams
};

}  // namespace whale::server
