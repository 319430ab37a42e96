#include "server/policy_file.h"

#include <algorithm>
#include <array>

#include "config/toml_section.h"
#include "core/error.h"

namespace whale::server {
namespace {

namespace fs = std::filesystem;
using std::string_view_literals::operator""sv;

constexpr std::array kSections = {"defaults"sv, "rule"sv, "keys"sv};
constexpr std::array kDefaultsKeys = {"stop_message"sv, "prompt_message"sv, "max_hold_bytes"sv,
                                      "rules"sv,        "audit_log"sv,      "audit_text"sv};
constexpr std::array kRuleKeys = {"regex"sv,  "literals"sv,    "applies_to"sv, "case_insensitive"sv, "normalize"sv,
                                  "action"sv, "replacement"sv, "message"sv,    "max_hold_bytes"sv};
constexpr int64_t kMaxHoldLimit = 65536;

// Rule names and API key ids: they appear in metrics labels and audit lines as they are.
void check_id(std::string_view id, std::string_view what, const std::string& where) {
  const bool ok = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("_.:@-").find(c) != std::string_view::npos;
  });
  if (!ok) fail("{}: {} must be non-empty and use only ASCII letters, digits and _ . : @ -", where, what);
}

PolicyAction parse_action(const std::string& text, const std::string& what) {
  if (text == "stop") return PolicyAction::kStop;
  if (text == "redact") return PolicyAction::kRedact;
  if (text == "flag") return PolicyAction::kFlag;
  fail("{}: unknown action '{}' (expected \"stop\", \"redact\" or \"flag\")", what, text);
}

PolicyChannel parse_channel(const std::string& text, const std::string& what) {
  if (text == "content") return PolicyChannel::kContent;
  if (text == "reasoning") return PolicyChannel::kReasoning;
  if (text == "prompt") return PolicyChannel::kPrompt;
  fail("{}: unknown channel '{}' (expected \"content\", \"reasoning\" or \"prompt\")", what, text);
}

// toml_section.h reads strings (restoring the non-ASCII characters it hides from toml++) only as a table's
// values: each element of the array moves into a one-key table (a move keeps its line) and is read there.
std::vector<std::string> string_array(toml::table& table, std::string_view key, const TomlSection& section,
                                      const fs::path& file) {
  toml::array* array = table.get(key) ? table.get(key)->as_array() : nullptr;
  if (!array) fail("{}: [{}] {} must be an array of strings", section.where(key), section.name(), key);
  const std::array known = {key};
  std::vector<std::string> out;
  for (toml::node& element : *array) {
    toml::table one;
    element.visit([&](auto&& v) { one.insert(key, std::move(v)); });
    out.push_back(TomlSection(&one, section.name(), file, known).string(key, ""));
  }
  return out;
}

// `key` = "all" | "none" | ["rule", ...] → indices into `rules`.
std::vector<size_t> rule_selection(toml::table* table, std::string_view key, const TomlSection& section,
                                   const std::vector<PolicyRule>& rules, const fs::path& file) {
  std::vector<size_t> all(rules.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  if (!section.has(key)) return all;
  if (!table->get(key)->is_array()) {
    const std::string word = section.string(key, "");
    if (word == "all") return all;
    if (word == "none") return {};
    fail("{}: [{}] {} must be \"all\", \"none\" or a list of rule names", section.where(key), section.name(), key);
  }
  std::vector<std::string_view> names;
  for (const PolicyRule& r : rules) names.push_back(r.name);
  std::vector<size_t> out;
  for (const std::string& name : string_array(*table, key, section, file)) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      const std::string best = closest_match(name, names);
      fail("{}: [{}] {}: unknown rule '{}'{}", section.where(key), section.name(), key, name,
           best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best));
    }
    out.push_back(size_t(it - names.begin()));
  }
  return out;
}

struct Defaults {
  std::string stop_message, prompt_message;
  size_t max_hold_bytes;
};

PolicyRule parse_rule(const std::string& name, toml::table& table, const std::string& at, const Defaults& d,
                      const fs::path& file) {
  const TomlSection s(&table, "rule." + name, file, kRuleKeys);
  if (s.has("regex") == s.has("literals")) fail("{}: [{}] needs either regex or literals", at, s.name());
  if (!s.has("action")) fail("{}: [{}] needs an action (\"stop\", \"redact\" or \"flag\")", at, s.name());
  const PolicyAction action = s.choice("action", "", parse_action);
  const bool case_insensitive = s.boolean("case_insensitive", false), normalize = s.boolean("normalize", false);
  const size_t max_hold = size_t(s.integer("max_hold_bytes", int64_t(d.max_hold_bytes), 1, kMaxHoldLimit));

  std::vector<PolicyChannel> applies_to = {PolicyChannel::kContent, PolicyChannel::kReasoning};
  if (s.has("applies_to")) {
    applies_to.clear();
    for (const std::string& c : string_array(table, "applies_to", s, file))
      applies_to.push_back(parse_channel(c, fmt::format("{}: [{}] applies_to", s.where("applies_to"), s.name())));
    if (applies_to.empty()) fail("{}: [{}] applies_to must not be empty", s.where("applies_to"), s.name());
  }
  const bool on_prompt = std::find(applies_to.begin(), applies_to.end(), PolicyChannel::kPrompt) != applies_to.end();
  if (s.has("replacement") && action != PolicyAction::kRedact)
    fail("{}: [{}] replacement is for action = \"redact\" only", s.where("replacement"), s.name());
  if (s.has("message") && (action == PolicyAction::kFlag || (action == PolicyAction::kRedact && !on_prompt)))
    fail("{}: [{}] message is for action = \"stop\" and for rejected prompts only", s.where("message"), s.name());

  std::vector<std::string> literals;
  if (s.has("literals")) {
    literals = string_array(table, "literals", s, file);
    if (literals.empty()) fail("{}: [{}] literals must not be empty", s.where("literals"), s.name());
  }
  const std::string where = s.where(s.has("regex") ? "regex" : "literals");
  RulePattern pattern = s.has("regex") ? RulePattern::regex(s.string("regex", ""), case_insensitive, normalize, where)
                                       : RulePattern::literals(literals, case_insensitive, normalize, where);
  for (const std::string& l : literals)
    if (l.size() > max_hold)
      fail("{}: [{}] literal '{}' is longer than max_hold_bytes = {}", where, s.name(), l, max_hold);
  const std::string message = s.string("message", "");
  return {.name = name,
          .applies_to = std::move(applies_to),
          .action = action,
          .pattern = std::move(pattern),
          .replacement = s.string("replacement", "[redacted]"),
          .stop_message = message.empty() ? d.stop_message : message,
          .prompt_message = message.empty() ? d.prompt_message : message,
          .max_hold_bytes = max_hold};
}

}  // namespace

std::string_view policy_action_name(PolicyAction action) {
  switch (action) {
    case PolicyAction::kStop: return "stop";
    case PolicyAction::kRedact: return "redact";
    case PolicyAction::kFlag: return "flag";
  }
  return "?";
}

std::string_view policy_channel_name(PolicyChannel channel) {
  switch (channel) {
    case PolicyChannel::kContent: return "content";
    case PolicyChannel::kReasoning: return "reasoning";
    case PolicyChannel::kPrompt: return "prompt";
  }
  return "?";
}

bool PolicyRule::applies(PolicyChannel channel) const {
  return std::find(applies_to.begin(), applies_to.end(), channel) != applies_to.end();
}

PolicyFile load_policy_file(const fs::path& file) { return parse_policy_file(read_config_text(file), file); }

PolicyFile parse_policy_file(std::string_view toml_text, const fs::path& source) {
  toml::table root = parse_toml_sections(toml_text, source, kSections);
  toml::table* defaults_table = root["defaults"].as_table();
  const TomlSection defaults(defaults_table, "defaults", source, kDefaultsKeys);
  const Defaults d{
      .stop_message = defaults.string("stop_message", "[response withheld by the operator's policy]"),
      .prompt_message = defaults.string("prompt_message", "Your request was rejected by the operator's policy."),
      .max_hold_bytes = size_t(defaults.integer("max_hold_bytes", 256, 1, kMaxHoldLimit))};
  PolicyFile p;
  p.audit_log = defaults.path("audit_log");
  p.audit_text = defaults.boolean("audit_text", false);

  // toml++ keeps a table's keys sorted: the rules' file order is their order of lines.
  struct Entry {
    toml::source_position at;
    std::string name;
    toml::node* node;
  };
  std::vector<Entry> entries;
  if (toml::table* rules = root["rule"].as_table())
    for (auto&& [key, node] : *rules) entries.push_back({key.source().begin, std::string(key.str()), &node});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.at < b.at; });
  for (const Entry& e : entries) {
    const std::string at = fmt::format("{}:{}", source.string(), e.at.line);
    check_id(e.name, "a rule name (the key after 'rule.')", at);
    if (!e.node->is_table()) fail("{}: rule.{} must be a table: write each rule as [rule.NAME]", at, e.name);
    p.rules.push_back(parse_rule(e.name, *e.node->as_table(), at, d, source));
  }
  p.default_rules = rule_selection(defaults_table, "rules", defaults, p.rules, source);

  if (toml::table* keys = root["keys"].as_table()) {
    std::vector<std::string> ids;
    for (auto&& [key, node] : *keys) {
      ids.emplace_back(key.str());
      check_id(ids.back(), "an API key id in [keys]", fmt::format("{}:{}", source.string(), key.source().begin.line));
    }
    const std::vector<std::string_view> known(ids.begin(), ids.end());
    const TomlSection section(keys, "keys", source, known);
    for (const std::string& id : ids) p.keys[id] = rule_selection(keys, id, section, p.rules, source);
  }
  return p;
}

}  // namespace whale::server
