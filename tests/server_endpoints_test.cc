// The access log of `whale serve` (issue 15), read off a real process's stderr: one line per response with the UTC
// time, client, method, path, status, latency and a generation's tokens (prompt+completion); never the API key, the query or the body unless --log-prompts, which
// adds the first 1000 bytes of each body, escaped onto one line; --no-access-log turns it off.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "raw_http.h"
#include "serve_process.h"

namespace whale::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kKey = "sk-access-log-key";
const std::string kAuth = std::string("Authorization: Bearer ") + kKey + "\r\n";
const std::string kJson = "Content-Type: application/json\r\n";
const std::string kMarker = "prompt-marker-4711";

// time client method path status latency tokens
const std::regex kAccessLine(
    R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) (\S+) (\d+) (\d+\.\dms|-) (\d+\+\d+|-))");

struct AccessLine {
  std::time_t time = 0;
  std::string client, method, path;
  int status = 0;
  std::string latency;
  std::string tokens;
};

std::vector<AccessLine> access_lines(const std::string& output) {
  std::vector<AccessLine> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, kAccessLine)) continue;
    std::tm tm{};
    strptime(m[1].str().c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    lines.push_back({timegm(&tm), m[2], m[3], m[4], std::stoi(m[5]), m[6], m[7]});
  }
  return lines;
}

// The process's output once it holds `n` access lines (or after 10 s).
std::string output_with_lines(ServeProcess& server, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string out = server.output();
  while (access_lines(out).size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    out = server.output();
  }
  return out;
}

std::string chat_body(bool stream) {
  return json{{"messages", {{{"role", "user"}, {"content", "Hello " + kMarker}}}},
              {"temperature", 0},
              {"max_tokens", 2},
              {"stream", stream}}
      .dump();
}

int status_of(const std::optional<RawConnection::Response>& r) { return r ? r->status : -1; }

// The status of a POST with the key and a JSON body.
int post(const ServeProcess& server, const std::string& path, const std::string& body) {
  return status_of(http_request(server.port(), "POST", path, body, kAuth + kJson));
}

TEST(ServerAccessLogTest, OneLinePerResponseWithoutKeyQueryOrBody) {
  ServeProcess server({"--api-key", kKey});
  ASSERT_GT(server.port(), 0) << server.output();
  const std::time_t begin = std::time(nullptr);
  EXPECT_EQ(status_of(http_request(server.port(), "GET", "/health?token=query-secret")), 200);
  EXPECT_EQ(status_of(http_request(server.port(), "GET", "/v1/models")), 401);
  EXPECT_EQ(post(server, "/v1/chat/completions", chat_body(false)), 200);
  EXPECT_EQ(post(server, "/v1/chat/completions", chat_body(true)), 200);
  EXPECT_EQ(status_of(http_request(server.port(), "PUT", "/tokenize", "", kAuth)), 405);
  RawConnection garbage(server.port());  // refused by the transport before any route is known
  garbage.send("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(status_of(garbage.read_response(10s)), 400);
  const std::time_t end = std::time(nullptr);

  const std::string out = output_with_lines(server, 6);
  const std::vector<AccessLine> lines = access_lines(out);
  ASSERT_EQ(lines.size(), 6u) << out;
  // Each line is written once its response is out, so two may swap: each expected line is looked up.
  struct Expected {
    std::string method, path;
    int status;
  };
  const std::vector<Expected> expected = {
      {"GET", "/health", 200},
      {"GET", "/v1/models", 401},
      {"POST", "/v1/chat/completions", 200},
      {"POST", "/v1/chat/completions", 200},
      {"PUT", "/tokenize", 405},
      {"-", "-", 400},
  };
  for (const auto& [method, path, status] : expected) {
    const std::string what = fmt::format("{} {} {}", method, path, status);
    auto line = std::find_if(lines.begin(), lines.end(), [&](const AccessLine& l) {
      return l.method == method && l.path == path && l.status == status;
    });
    ASSERT_NE(line, lines.end()) << what << "\n" << out;
    EXPECT_GE(line->time, begin - 1) << "UTC time of " << what;
    EXPECT_LE(line->time, end + 1) << "UTC time of " << what;
    if (status == 400) {  // refused by the transport before the header was parsed: no client, no start
      EXPECT_EQ(line->client, "-");
      EXPECT_EQ(line->latency, "-");
      continue;
    }
    EXPECT_EQ(line->client, "127.0.0.1") << what;
    ASSERT_NE(line->latency, "-") << what;
    EXPECT_LT(std::stod(line->latency), 30'000) << what;
    if (path != "/v1/chat/completions") {
      EXPECT_EQ(line->tokens, "-") << what;
      continue;
    }
    // A generation's tokens: the templated prompt, and at most max_tokens (2) completion tokens.
    const size_t plus = line->tokens.find('+');
    ASSERT_NE(plus, std::string::npos) << what << ": " << line->tokens;
    EXPECT_GT(std::stoi(line->tokens.substr(0, plus)), 3) << what;
    EXPECT_LE(std::stoi(line->tokens.substr(plus + 1)), 2) << what;
  }
  EXPECT_EQ(out.find(kKey), std::string::npos) << out;
  EXPECT_EQ(out.find("query-secret"), std::string::npos) << out;
  EXPECT_EQ(out.find(kMarker), std::string::npos) << out;
}

TEST(ServerAccessLogTest, LogPromptsAddsEachBodyEscapedAndTruncated) {
  ServeProcess server({"--api-key", kKey, "--log-prompts"});
  ASSERT_GT(server.port(), 0) << server.output();
  const std::string chat = chat_body(false);
  EXPECT_EQ(post(server, "/v1/chat/completions", chat), 200);
  const std::string long_body = json{{"content", std::string(3000, 'x')}}.dump();
  EXPECT_EQ(post(server, "/tokenize", long_body), 200);
  // Not JSON, with a line break: still one log line, the break escaped.
  EXPECT_EQ(post(server, "/tokenize", "a\n1999-01-01 forged 200"), 400);

  const std::string out = output_with_lines(server, 3);
  EXPECT_EQ(access_lines(out).size(), 3u) << out;
  const std::string prefix = " 127.0.0.1 POST /v1/chat/completions body ";
  EXPECT_NE(out.find(prefix + json(chat).dump() + "\n"), std::string::npos) << out;
  const std::string first_1000 = json(long_body.substr(0, 1000)).dump();
  EXPECT_NE(out.find(" POST /tokenize body " + first_1000 + " (first 1000 of 3014 bytes)\n"), std::string::npos) << out;
  EXPECT_NE(out.find(R"( POST /tokenize body "a\n1999-01-01 forged 200")"), std::string::npos) << out;
  EXPECT_EQ(out.find("\n1999-01-01 forged"), std::string::npos) << "a body must not start a log line";
  EXPECT_EQ(out.find(kKey), std::string::npos) << out;
}

TEST(ServerAccessLogTest, NoAccessLogWritesNoLines) {
  ServeProcess server({"--no-access-log", "--api-key", kKey});
  ASSERT_GT(server.port(), 0) << server.output();
  EXPECT_EQ(status_of(http_request(server.port(), "GET", "/health")), 200);
  EXPECT_EQ(post(server, "/v1/chat/completions", chat_body(false)), 200);
  EXPECT_EQ(status_of(http_request(server.port(), "GET", "/v1/models")), 401);
  std::this_thread::sleep_for(300ms);  // a line is written right after its response; none may come
  const std::string out = server.output();
  EXPECT_TRUE(access_lines(out).empty()) << out;
  EXPECT_NE(out.find("whale serve: tiny-r1 on http://"), std::string::npos) << "the other messages stay";

  ServeProcess both({"--no-access-log", "--log-prompts"});
  EXPECT_EQ(both.port(), 0);
  EXPECT_NE(both.wait_exit(10s), 0) << both.output();
  EXPECT_NE(both.output().find("excludes"), std::string::npos) << both.output();
}

}  // namespace
}  // namespace whale::testing
