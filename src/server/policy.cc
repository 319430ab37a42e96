#include "server/policy.h"

namespace whale::server {
namespace {

std::vector<const PolicyRule*> applying(const std::vector<const PolicyRule*>& rules, PolicyChannel channel) {
  std::vector<const PolicyRule*> out;
  for (const PolicyRule* r : rules)
    if (r->applies(channel)) out.push_back(r);
  return out;
}

}  // namespace

std::optional<PromptRejection> KeyPolicy::check_prompt(std::string_view text) const {
  PolicyStream scan(applying(rules_, PolicyChannel::kPrompt), PolicyChannel::kPrompt, key_id_, audit_);
  scan.push(text);
  scan.finish();
  for (const PolicyEvent& e : scan.events()) {
    if (e.action == PolicyAction::kFlag) continue;
    for (const PolicyRule* r : rules_)
      if (r->name == e.rule) return PromptRejection{.rule = r->name, .message = r->prompt_message};
  }
  return std::nullopt;
}

PolicyStream KeyPolicy::stream(PolicyChannel channel) const {
  return PolicyStream(applying(rules_, channel), channel, key_id_, audit_);
}

Policy Policy::load(const std::filesystem::path& file) { return Policy(load_policy_file(file)); }

Policy Policy::parse(std::string_view toml_text, const std::filesystem::path& source) {
  return Policy(parse_policy_file(toml_text, source));
}

Policy::Policy(PolicyFile file)
    : file_(std::move(file)), audit_(std::make_unique<AuditLog>(file_.rules, file_.audit_log, file_.audit_text)) {}

KeyPolicy Policy::for_key(std::string_view key_id) const {
  const auto it = file_.keys.find(key_id);
  std::vector<const PolicyRule*> rules;
  for (size_t i : it != file_.keys.end() ? it->second : file_.default_rules) rules.push_back(&file_.rules[i]);
  return KeyPolicy(std::move(rules), std::string(key_id), audit_.get());
}

}  // namespace whale::server
