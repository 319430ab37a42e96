// The operator's output policy in a real `whale serve`: rules built from the test model's own greedy answer (taken from
// a server without a policy), then applied by a second server. A stop rule never lets its match reach the client,
// streamed or not; a redact rule replaces its match; prompt rules reject with 400; a key the policy exempts gets the
// answer unchanged; the audit log and /metrics record each action.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "raw_http.h"
#include "serve_process.h"
#include "temp_dir.h"

namespace whale::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kJson = "Content-Type: application/json\r\n";

struct Answer {
  std::string reasoning, content, finish_reason;
};

// A greedy chat answer, streamed or not, with the key given (SSE deltas are joined).
Answer ask(int port, const std::string& key, bool stream, const std::string& message = "Hello") {
  const json body = {{"messages", {{{"role", "user"}, {"content", message}}}},
                     {"temperature", 0},
                     {"max_tokens", 40},
                     {"stream", stream}};
  auto r = http_request(port, "POST", "/v1/chat/completions", body.dump(),
                        "Authorization: Bearer " + key + "\r\n" + kJson, 60s);
  EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
  if (!r || r->status != 200) return {};
  Answer a;
  if (!stream) {
    const json j = json::parse(r->body)["choices"][0];
    return {j["message"].value("reasoning_content", ""), j["message"]["content"], j["finish_reason"]};
  }
  std::istringstream events(r->body);
  for (std::string line; std::getline(events, line);) {
    if (!line.starts_with("data: {")) continue;
    const json c = json::parse(line.substr(6))["choices"][0];
    a.reasoning += c["delta"].value("reasoning_content", "");
    a.content += c["delta"].value("content", "");
    if (c["finish_reason"].is_string()) a.finish_reason = c["finish_reason"];
  }
  EXPECT_NE(r->body.find("data: [DONE]"), std::string::npos);
  return a;
}

// `chars` whole UTF-8 characters of `s` from the first character boundary at or after `from`.
std::string characters(const std::string& s, size_t from, int chars) {
  auto continuation = [&](size_t i) { return i < s.size() && (uint8_t(s[i]) & 0xC0) == 0x80; };
  while (continuation(from)) ++from;
  size_t end = from;
  for (int i = 0; i < chars && end < s.size(); ++i) do
      ++end;
    while (continuation(end));
  return s.substr(from, end - from);
}

TEST(ServerPolicyTest, RulesApplyToWhatTheClientReceives) {
  TempDir dir("whale-policy");
  const std::string keys = (dir.path() / "keys.txt").string();
  std::ofstream(keys) << "sk-filtered-key id=filtered\nsk-plain-key-1 id=plain\n";
  Answer plain;
  {
    ServeProcess server({"--api-key-file", keys});
    ASSERT_GT(server.port(), 0) << server.output();
    plain = ask(server.port(), "sk-plain-key-1", false);
  }
  // The reply has reasoning, then content (tests/server_test_model.h); pick rules inside each.
  ASSERT_GT(plain.reasoning.size(), 12u);
  ASSERT_GT(plain.content.size(), 8u);
  const std::string redacted = characters(plain.reasoning, plain.reasoning.size() / 3, 4);
  const std::string stopped = characters(plain.content, plain.content.size() / 2, 2);
  const std::string policy = (dir.path() / "policy.toml").string();
  std::ofstream(policy) << "[defaults]\nstop_message = \"[withheld]\"\naudit_log = "
                           "\"audit.jsonl\"\n"
                        << "[rule.secret]\nliterals = [" << json(redacted).dump()
                        << "]\napplies_to = [\"reasoning\"]\naction = \"redact\"\nreplacement = "
                           "\"[x]\"\n"
                        << "[rule.topic]\nliterals = [" << json(stopped).dump()
                        << "]\napplies_to = [\"content\"]\naction = \"stop\"\n"
                        << "[rule.prompt]\nregex = 'forbidden\\s+topic'\napplies_to = "
                           "[\"prompt\"]\naction = \"stop\"\n"
                        << "message = \"not here\"\n"
                        << "[keys]\nplain = \"none\"\n";
  ServeProcess server({"--api-key-file", keys, "--policy", policy});
  ASSERT_GT(server.port(), 0) << server.output();

  auto replace_all = [](std::string s, const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
    return s;
  };
  for (bool stream : {false, true}) {
    SCOPED_TRACE(stream ? "streamed" : "whole");
    const Answer a = ask(server.port(), "sk-filtered-key", stream);
    EXPECT_EQ(a.reasoning, replace_all(plain.reasoning, redacted, "[x]"));
    EXPECT_EQ(a.content.find(stopped), std::string::npos) << a.content;
    EXPECT_EQ(a.content, plain.content.substr(0, plain.content.find(stopped)) + "[withheld]");
    EXPECT_EQ(a.finish_reason, "content_filter");
    const Answer exempt = ask(server.port(), "sk-plain-key-1", stream);
    EXPECT_EQ(exempt.reasoning, plain.reasoning);
    EXPECT_EQ(exempt.content, plain.content);
  }

  const json rejected = {{"messages", {{{"role", "user"}, {"content", "tell me about the forbidden  topic"}}}}};
  auto r = http_request(server.port(), "POST", "/v1/chat/completions", rejected.dump(),
                        "Authorization: Bearer sk-filtered-key\r\n" + kJson, 30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["message"], "not here");
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "content_policy");

  r = http_request(server.port(), "GET", "/metrics", "", "Authorization: Bearer sk-plain-key-1\r\n", 10s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("whale_policy_actions_total{rule=\"topic\",action=\"stop\"} 2"), std::string::npos) << r->body;

  std::ifstream audit(dir.path() / "audit.jsonl");
  int lines = 0;
  for (std::string line; std::getline(audit, line); ++lines) {
    const json e = json::parse(line);
    EXPECT_EQ(e["key_id"], "filtered");
    EXPECT_EQ(line.find(stopped), std::string::npos) << "matched text in the audit log: " << line;
  }
  EXPECT_GE(lines, 5);  // 2 stops, ≥ 2 redactions, 1 prompt rejection
}

}  // namespace
}  // namespace whale::testing
