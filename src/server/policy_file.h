// The operator's output policy file (`whale serve --policy FILE.toml`): rules that the server applies to the
// text it streams (content, reasoning) and to prompts. Off unless a file is given. Format:
//
//   [defaults]                       # optional, as is every key in it
//   stop_message = "[response withheld by the operator's policy]"   # what a stop rule puts in place of the rest
//   prompt_message = "Your request was rejected by the operator's policy."
//   max_hold_bytes = 256             # per rule: the most streamed text a rule may hold back (1..65536)
//   rules = "all"                    # the rules of API keys not listed in [keys]: "all", "none" or a list
//   audit_log = "policy-audit.jsonl" # JSON lines, one per fired rule (relative to this file); none if absent
//   audit_text = false               # true: the audit log also records the matched text
//
//   [rule.api-keys]                  # a rule; its name ([A-Za-z0-9_.:@-]) is the table's, so unique
//   regex = 'sk-[A-Za-z0-9]{20,}'    # PCRE2 (UTF, UCP): either regex or literals, never the empty string
//   # literals = ["foo", "bar"]      # verbatim strings; the longest wins where several start at one place
//   applies_to = ["content", "reasoning", "prompt"]  # any subset; default ["content", "reasoning"]
//   case_insensitive = false         # Unicode simple case folding
//   normalize = false                # match on NFKC + case-folded text (policy_fold.h): "ＳＥＣＲＥＴ" is "secret"
//   action = "redact"                # stop | redact | flag (required)
//   replacement = "[redacted]"       # redact only (default "[redacted]")
//   message = "..."                  # stop (and redact on prompts): replaces stop_message / prompt_message
//   max_hold_bytes = 512             # replaces the default for this rule
//
//   [keys]                           # per API key id: "all", "none" or a list of rule names
//   team-a = ["api-keys"]
//   internal = "none"
//
// On streamed text, stop ends the output (the caller cancels generation) after the text before the match and
// the stop message; redact puts the replacement in place of each match; flag lets the text through. All three
// record an event. On a prompt, stop and redact reject the request, flag records only. Matches never overlap:
// the leftmost wins, and among matches starting at one place, the rule listed first. A regex with
// `normalize` sees folded text: write it in folded (lower-case) form, e.g. [a-z] for letters. Every error
// names the file and line. (Classifier rules, a model judging the text, are not supported.)
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "server/policy_pattern.h"

namespace whale::server {

enum class PolicyAction { kStop, kRedact, kFlag };
enum class PolicyChannel { kContent, kReasoning, kPrompt };

std::string_view policy_action_name(PolicyAction action);
std::string_view policy_channel_name(PolicyChannel channel);

struct PolicyRule {
  std::string name;
  std::vector<PolicyChannel> applies_to;
  PolicyAction action = PolicyAction::kFlag;
  RulePattern pattern;
  std::string replacement;              // redact
  std::string stop_message;             // stop, on streamed text
  std::string prompt_message;           // stop and redact, on prompts
  size_t max_hold_bytes = 256;

  bool applies(PolicyChannel channel) const;
};

struct PolicyFile {
  std::vector<PolicyRule> rules;                   // in file order
  std::vector<size_t> default_rules;               // indices into rules, for keys not in `keys`
  std::map<std::string, std::vector<size_t>, std::less<>> keys;  // API key id → indices into rules
  std::filesystem::path audit_log;                 // empty: no audit log
  bool audit_text = false;
};

PolicyFile parse_policy_file(std::string_view toml_text, const std::filesystem::path& source);
PolicyFile load_policy_file(const std::filesystem::path& file);

}  // namespace whale::server
