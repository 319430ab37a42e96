// The operator's output policy (src/server/policy*.h): file errors name the line; streamed matching never
// lets a stopped or redacted match through, however the text is split into deltas, and gives the same output
// as the whole text at once; the hold-back is bounded; normalisation; prompts; per-key rules; audit log and
// counters.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "error_of.h"
#include "server/policy.h"
#include "temp_dir.h"

namespace whale::server {
namespace {

using testing::error_of;

Policy make(std::string_view toml) { return Policy::parse(toml, "p.toml"); }

struct Streamed {
  std::string text;
  std::vector<PolicyEvent> events;
  bool stopped = false;
};

// Streams `text` cut at `cuts` (character boundaries) through a fresh content stream of `key`.
Streamed stream_cut(const KeyPolicy& key, std::string_view text, const std::vector<size_t>& cuts) {
  PolicyStream s = key.stream(PolicyChannel::kContent);
  Streamed r;
  size_t at = 0;
  for (size_t cut : cuts) {
    r.text += s.push(text.substr(at, cut - at));
    at = cut;
  }
  r.text += s.push(text.substr(at));
  r.text += s.finish();
  r.events = s.events();
  r.stopped = s.stopped();
  return r;
}

std::vector<size_t> char_boundaries(std::string_view text) {
  std::vector<size_t> out;
  for (size_t i = 1; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) out.push_back(i);
  return out;
}

// Every single cut, every character its own delta, and random multi-cuts (fixed seed).
std::vector<std::vector<size_t>> splits_of(std::string_view text) {
  const std::vector<size_t> all = char_boundaries(text);
  std::vector<std::vector<size_t>> out = {{}, all};
  for (size_t c : all) out.push_back({c});
  std::mt19937 rng(1234);
  for (double p : {0.2, 0.5, 0.8})
    for (int n = 0; n < 30; ++n) {
      std::vector<size_t> cuts;
      for (size_t c : all)
        if (std::bernoulli_distribution(p)(rng)) cuts.push_back(c);
      out.push_back(cuts);
    }
  return out;
}

// Streamed under every split of splits_of(), `text` gives `expected` (and the same events).
void expect_every_split(const Policy& policy, std::string_view text, const std::string& expected) {
  const KeyPolicy key = policy.for_key("k");
  const Streamed whole = stream_cut(key, text, {});
  EXPECT_EQ(whole.text, expected);
  for (const std::vector<size_t>& cuts : splits_of(text)) {
    const Streamed s = stream_cut(key, text, cuts);
    ASSERT_EQ(s.text, expected) << "with " << cuts.size() << " cuts, the first at " << (cuts.empty() ? 0 : cuts[0]);
    ASSERT_EQ(s.events.size(), whole.events.size());
    for (size_t i = 0; i < s.events.size(); ++i) {
      EXPECT_EQ(s.events[i].rule, whole.events[i].rule);
      EXPECT_EQ(s.events[i].begin, whole.events[i].begin);
      EXPECT_EQ(s.events[i].end, whole.events[i].end);
    }
  }
}

TEST(PolicyFile, ErrorsNameTheLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"[rule.a]\nregex = 'x'\naction = 'stop'\ncolour = 1\n", "p.toml:4: unknown key 'colour' in [rule.a]"},
      {"[rule.a]\nregex = 'x('\naction = 'stop'\n", "p.toml:2: cannot compile regex at offset 2"},
      {"[rule.a]\nregex = 'a*'\naction = 'stop'\n", "p.toml:2: the regex can match the empty string"},
      {"[rule.a]\nregex = '(?=x)'\naction = 'stop'\n", "p.toml:2: the regex can match the empty string"},
      {"[rule.a]\nliterals = ['x']\naction = 'block'\n", "p.toml:3: [rule.a] action: unknown action 'block'"},
      {"[rule.a]\nregex = 'x'\naction = 'stop'\n[rule.a]\nregex = 'y'\n", "p.toml:4:"},
      {"\n[rule.a]\naction = 'stop'\n", "p.toml:2: [rule.a] needs either regex or literals"},
      {"[rule.a]\nregex = 'x'\n", "p.toml:1: [rule.a] needs an action"},
      {"[rule.\"a b\"]\nregex = 'x'\naction = 'stop'\n", "p.toml:1: a rule name (the key after 'rule.') must"},
      {"[rule.a]\nregex = 'x'\naction = 'flag'\napplies_to = ['content', 'output']\n",
       "p.toml:4: [rule.a] applies_to: unknown channel 'output'"},
      {"[rule.a]\nregex = 'x'\naction = 'stop'\nreplacement = '-'\n", "p.toml:4: [rule.a] replacement is for"},
      {"[rule.a]\nregex = 'x'\naction = 'flag'\nmessage = 'm'\n", "p.toml:4: [rule.a] message is for"},
      {"[rule.a]\nliterals = ['x', 3]\naction = 'stop'\n", "p.toml:2: [rule.a] literals must be a string"},
      {"[rule.a]\nliterals = ['x', '']\naction = 'stop'\n", "p.toml:2: a literal must not be empty"},
      {"[defaults]\nmax_hold_bytes = 4\n[rule.a]\nliterals = ['abcdef']\naction = 'stop'\n",
       "p.toml:4: [rule.a] literal 'abcdef' is longer than max_hold_bytes = 4"},
      {"[rule.api-keys]\nregex = 'x'\naction = 'stop'\n[keys]\nteam = ['api-key']\n",
       "p.toml:5: [keys] team: unknown rule 'api-key' (did you mean 'api-keys'?)"},
      {"[defaults]\nrules = 'some'\n", "p.toml:2: [defaults] rules must be \"all\", \"none\" or a list"},
      {"[rules.a]\n", "p.toml:1: unknown section [rules] (did you mean 'rule'?)"},
  };
  for (const auto& [toml, expected] : cases) {
    const std::string e = error_of([&] { make(toml); });
    EXPECT_NE(e.find(expected), std::string::npos) << "got: " << e << "\nfor:\n" << toml;
  }
}

TEST(PolicyFile, DefaultsAndRuleOrder) {
  const Policy p = make(
      "[defaults]\nstop_message = 'STOP'\n"
      "[rule.zeta]\nregex = 'z+'\naction = 'stop'\n"
      "[rule.alpha]\nliterals = ['a']\naction = 'redact'\napplies_to = ['prompt']\nmessage = 'no a'\n");
  ASSERT_EQ(p.rules().size(), 2u);
  EXPECT_EQ(p.rules()[0].name, "zeta");  // file order, not toml++'s sorted order
  EXPECT_EQ(p.rules()[0].stop_message, "STOP");
  EXPECT_EQ(p.rules()[0].applies_to, (std::vector{PolicyChannel::kContent, PolicyChannel::kReasoning}));
  EXPECT_EQ(p.rules()[1].replacement, "[redacted]");
  EXPECT_EQ(p.rules()[1].prompt_message, "no a");
  EXPECT_EQ(p.rules()[1].max_hold_bytes, 256u);
}

TEST(PolicyStream, StopNeverLetsTheMatchThrough) {
  const Policy p = make("[defaults]\nstop_message = '<withheld>'\n"
                        "[rule.api-keys]\nregex = 'sk-[A-Za-z0-9]{20,}'\naction = 'stop'\n");
  const std::string text = "The key is sk-ABCDEFGHIJKLMNOPQRSTUVWX0123, keep it safe.";
  expect_every_split(p, text, "The key is <withheld>");
  // The match spread over three deltas, then more text: nothing after the stop.
  PolicyStream s = p.for_key("k").stream(PolicyChannel::kContent);
  std::string out;
  for (std::string_view delta : {"The key is sk-ABCDEF", "GHIJKLMNOP", "QRSTUVWX!"}) out += s.push(delta);
  EXPECT_TRUE(s.stopped());
  out += s.push(" more");
  out += s.finish();
  EXPECT_EQ(out, "The key is <withheld>");
  ASSERT_EQ(s.events().size(), 1u);
}

TEST(PolicyStream, StopOnLiteralsAndNormalizedText) {
  const Policy p = make("[rule.word]\nliterals = ['forbidden', 'secret']\nnormalize = true\naction = 'stop'\n"
                        "message = '[stopped]'\n");
  expect_every_split(p, "Tell me the ＳＥＣＲＥＴ now", "Tell me the [stopped]");
  expect_every_split(p, "nothing forbidde here, Forbidden!", "nothing forbidde here, [stopped]");
}

TEST(PolicyStream, RedactsAcrossDeltas) {
  const Policy p = make("[rule.api-keys]\nregex = 'sk-[A-Za-z0-9]{8,}'\naction = 'redact'\nreplacement = '[key]'\n"
                        "[rule.phone]\nregex = '\\d{3}-\\d{4}'\naction = 'redact'\n");
  expect_every_split(p, "a sk-12345678 b sk-abcdefghijk call 555-1234 or sk-short",
                     "a [key] b [key] call [redacted] or sk-short");
  const Streamed s = stream_cut(p.for_key("k"), "x sk-AAAAAAAAAA y", {4, 7, 10, 13});  // one match, five deltas
  EXPECT_EQ(s.text, "x [key] y");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].begin, 2u);
  EXPECT_EQ(s.events[0].end, 15u);
  EXPECT_EQ(s.events[0].action, PolicyAction::kRedact);
}

TEST(PolicyStream, FlagPassesTextAndRecordsOffsets) {
  const Policy p = make("[rule.watch]\nliterals = ['alpha', 'beta']\naction = 'flag'\n");
  const std::string text = "an alpha and a beta, then alphabet";
  expect_every_split(p, text, text);
  const Streamed s = stream_cut(p.for_key("team"), text, char_boundaries(text));
  ASSERT_EQ(s.events.size(), 3u);
  for (const PolicyEvent& e : s.events) {
    EXPECT_EQ(text.substr(e.begin, e.end - e.begin), e.text);
    EXPECT_EQ(e.key_id, "team");
    EXPECT_EQ(e.channel, PolicyChannel::kContent);
  }
  EXPECT_EQ(s.events[0].begin, 3u);
  EXPECT_EQ(s.events[2].begin, 26u);
}

// Streaming gives what the whole text at once gives, with rules that overlap and tie (random texts and splits).
TEST(PolicyStream, EverySplitMatchesTheWholeText) {
  const Policy p = make("[rule.abc]\nliterals = ['abc', 'ab']\naction = 'redact'\nreplacement = '<R>'\n"
                        "[rule.bab]\nregex = 'b[ac]+b'\naction = 'flag'\n"
                        "[rule.cab]\nliterals = ['cab']\nnormalize = true\naction = 'stop'\nmessage = '<S>'\n"
                        "[rule.word]\nregex = '\\bca\\b'\naction = 'redact'\nreplacement = '<W>'\n");
  const std::vector<std::string> alphabet = {"a", "b", "c", " ", "é", "Ｃ", "e\u0301"};
  std::mt19937 rng(7);
  for (int n = 0; n < 150; ++n) {
    std::string text;
    for (int i = 0; i < 24; ++i) text += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    expect_every_split(p, text, stream_cut(p.for_key("k"), text, {}).text);
  }
}

TEST(PolicyStream, WordBoundariesSeeTheEmittedText) {
  const Policy p = make("[rule.cat]\nregex = '\\bcat\\b'\naction = 'redact'\n");
  expect_every_split(p, "concat cat cats cat", "concat [redacted] cats [redacted]");
}

TEST(PolicyNormalize, CaseAndCompatibilityForms) {
  auto redacted = [](std::string_view rule, std::string_view text) {
    return stream_cut(make(std::string("[rule.r]\naction = 'redact'\n") + std::string(rule)).for_key("k"), text, {})
        .text;
  };
  EXPECT_EQ(redacted("literals = ['secret']", "SECRET secret"), "SECRET [redacted]");
  EXPECT_EQ(redacted("literals = ['secret']\ncase_insensitive = true", "SeCrEt ＳＥＣＲＥＴ"), "[redacted] ＳＥＣＲＥＴ");
  EXPECT_EQ(redacted("literals = ['secret']\nnormalize = true", "SeCrEt ＳＥＣＲＥＴ se\u00ADcret"),
            "[redacted] [redacted] [redacted]");
  EXPECT_EQ(redacted("literals = ['ＳＥＣＲＥＴ']\nnormalize = true", "a secret"), "a [redacted]");
  EXPECT_EQ(redacted("regex = 'sk-[a-z0-9]{4}'\nnormalize = true", "key ＳＫ－ＡＢ１２."), "key [redacted].");
  EXPECT_EQ(redacted("literals = ['café']\nnormalize = true", "Cafe\u0301 au lait"), "[redacted] au lait");
  // Offsets are those of the original bytes: each fullwidth letter is three.
  const Policy p = make("[rule.r]\nliterals = ['secret']\nnormalize = true\naction = 'flag'\n");
  const Streamed s = stream_cut(p.for_key("k"), "my ＳＥＣＲＥＴ.", {6, 12});
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].begin, 3u);
  EXPECT_EQ(s.events[0].end, 21u);
  EXPECT_EQ(s.events[0].text, "ＳＥＣＲＥＴ");
  // A combining mark after the last character changes how it folds: every split agrees with the whole text.
  expect_every_split(make("[rule.r]\nliterals = ['café']\nnormalize = true\naction = 'redact'\n"),
                     "cafe cafe\u0301 café", "cafe [redacted] [redacted]");
}

// Benign text (no match) lags the input by at most the held bytes a rule allows.
size_t max_lag(const Policy& p, std::string_view text) {
  PolicyStream s = p.for_key("k").stream(PolicyChannel::kContent);
  size_t in = 0, out = 0, lag = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    out += s.push(text.substr(i, 1)).size();
    lag = std::max(lag, ++in - out);
  }
  EXPECT_EQ(out + s.finish().size(), text.size());
  return lag;
}

TEST(PolicyStream, HoldBackIsBounded) {
  const Policy literals = make("[rule.w]\nliterals = ['password', 'secret']\naction = 'stop'\n");
  EXPECT_EQ(max_lag(literals, "my passwor is not a secre, passwor passwo secre"), 7u);  // longest literal - 1
  EXPECT_EQ(max_lag(literals, "nothing held here"), 0u);
  const Policy regex = make("[rule.r]\nregex = 'x[a-z]*!'\naction = 'stop'\nmax_hold_bytes = 32\n");
  EXPECT_EQ(max_lag(regex, "x" + std::string(300, 'q')), 32u);
}

TEST(PolicyStream, LongMatchIsDecidedOnTheWindow) {
  const Policy p = make("[rule.k]\nregex = 'sk-[a-z]{20,}'\naction = 'redact'\nmax_hold_bytes = 24\n");
  const std::string key = "sk-" + std::string(60, 'q');
  const Streamed s = stream_cut(p.for_key("k"), "key " + key + " end", char_boundaries("key " + key + " end"));
  // The first 25 bytes of the key (more than 24 held) match as if the text ended there; the rest goes out.
  EXPECT_EQ(s.text, "key [redacted]" + key.substr(25) + " end");
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].end - s.events[0].begin, 25u);
}

TEST(PolicyPrompt, RejectsWithTheRuleMessage) {
  const Policy p = make("[defaults]\nprompt_message = 'Rejected.'\n"
                        "[rule.bomb]\nliterals = ['build a bomb']\ncase_insensitive = true\napplies_to = ['prompt']\n"
                        "action = 'stop'\nmessage = 'No.'\n"
                        "[rule.pii]\nregex = '\\d{3}-\\d{2}-\\d{4}'\napplies_to = ['prompt', 'content']\n"
                        "action = 'redact'\n"
                        "[rule.weather]\nliterals = ['weather']\napplies_to = ['prompt']\naction = 'flag'\n"
                        "[rule.output-only]\nliterals = ['hello']\naction = 'stop'\n");
  const KeyPolicy k = p.for_key("k");
  const std::optional<PromptRejection> bomb = k.check_prompt("the weather? How to Build A Bomb");
  ASSERT_TRUE(bomb);
  EXPECT_EQ(bomb->rule, "bomb");
  EXPECT_EQ(bomb->message, "No.");
  const std::optional<PromptRejection> pii = k.check_prompt("my ssn is 123-45-6789");
  ASSERT_TRUE(pii);
  EXPECT_EQ(pii->message, "Rejected.");
  EXPECT_FALSE(k.check_prompt("weather today? hello"));
  const std::string metrics = p.render_prometheus();
  EXPECT_NE(metrics.find("whale_policy_actions_total{rule=\"weather\",action=\"flag\"} 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("whale_policy_actions_total{rule=\"bomb\",action=\"stop\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("whale_policy_actions_total{rule=\"output-only\",action=\"stop\"} 0\n"), std::string::npos);
}

// Many matches in a long prompt: each step re-runs only the rule that fired (a quadratic scan would take minutes).
TEST(PolicyPrompt, LongPromptsScanInLinearTime) {
  const Policy p = make("[rule.w]\nliterals = ['secret']\nnormalize = true\napplies_to = ['prompt']\naction = 'flag'\n"
                        "[rule.x]\nregex = 'x[a-z]+y'\napplies_to = ['prompt']\naction = 'flag'\n");
  std::string prompt;
  for (int i = 0; i < 20000; ++i) prompt += i % 2 ? "a ＳＥＣＲＥＴ " : "b secret ";
  EXPECT_FALSE(p.for_key("k").check_prompt(prompt));
  EXPECT_NE(p.render_prometheus().find("{rule=\"w\",action=\"flag\"} 20000\n"), std::string::npos);
}

TEST(PolicyKeys, SelectsRulesPerKey) {
  const std::string rules =
      "[rule.a]\nliterals = ['a']\naction = 'flag'\n[rule.b]\nliterals = ['b']\naction = 'flag'\n";
  auto names = [](const KeyPolicy& k) {
    std::vector<std::string> out;
    for (const PolicyRule* r : k.rules()) out.push_back(r->name);
    return out;
  };
  const Policy all = make(rules);
  EXPECT_EQ(names(all.for_key("anyone")), (std::vector<std::string>{"a", "b"}));
  const Policy keyed = make("[defaults]\nrules = ['b']\n" + rules + "[keys]\nteam-a = ['a']\ninternal = 'none'\n"
                            "ops = 'all'\n");
  EXPECT_EQ(names(keyed.for_key("team-a")), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(keyed.for_key("internal").empty());
  EXPECT_EQ(names(keyed.for_key("ops")), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(names(keyed.for_key("someone")), (std::vector<std::string>{"b"}));
  // A key without rules streams text through untouched.
  EXPECT_EQ(stream_cut(keyed.for_key("internal"), "a b", {1}).text, "a b");
}

TEST(PolicyAudit, JsonLinesWithoutMatchedTextByDefault) {
  testing::TempDir dir;
  for (const bool with_text : {false, true}) {
    const std::filesystem::path file = dir.path() / "policy.toml";
    std::ofstream(file) << "[defaults]\naudit_log = 'audit.jsonl'\naudit_text = " << (with_text ? "true" : "false")
                        << "\n[rule.api-keys]\nregex = 'sk-[a-z]{8}'\naction = 'redact'\n"
                        << "[rule.watch]\nliterals = ['hello']\naction = 'flag'\n";
    std::filesystem::remove(dir.path() / "audit.jsonl");
    const Policy p = Policy::load(file);
    EXPECT_EQ(stream_cut(p.for_key("team-a"), "hello sk-abcdefgh", {3, 9}).text, "hello [redacted]");
    std::ifstream in(dir.path() / "audit.jsonl");
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) {
      EXPECT_EQ(line.find("\"text\"") != std::string::npos, with_text) << line;
      if (!with_text) {
        EXPECT_EQ(line.find("sk-abcdefgh"), std::string::npos) << line;
      }
      lines.push_back(nlohmann::json::parse(line));
    }
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["rule"], "watch");
    EXPECT_EQ(lines[0]["action"], "flag");
    EXPECT_EQ(lines[1]["rule"], "api-keys");
    EXPECT_EQ(lines[1]["key_id"], "team-a");
    EXPECT_EQ(lines[1]["channel"], "content");
    EXPECT_EQ(lines[1]["begin"], 6);
    EXPECT_EQ(lines[1]["end"], 17);
    if (with_text) {
      EXPECT_EQ(lines[1]["text"], "sk-abcdefgh");
    }
    EXPECT_EQ(lines[1]["time"].get<std::string>().size(), 24u);  // 2025-01-31T12:00:00.123Z
  }
}

TEST(PolicyAudit, CountsFromManyThreads) {
  testing::TempDir dir;
  AuditLog log({}, dir.path() / "a.jsonl", false);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) log.record({.rule = "r", .action = PolicyAction::kRedact});
    });
  for (std::thread& t : threads) t.join();
  EXPECT_NE(log.render_prometheus().find("whale_policy_actions_total{rule=\"r\",action=\"redact\"} 2000\n"),
            std::string::npos);
  std::ifstream in(dir.path() / "a.jsonl");
  int n = 0;
  for (std::string line; std::getline(in, line); ++n) EXPECT_NO_THROW(nlohmann::json::parse(line));
  EXPECT_EQ(n, 2000);
}

}  // namespace
}  // namespace whale::server
