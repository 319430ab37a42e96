// The server under abuse, as issue 20's attack suite ran it, bounded in time: a real `whale serve` process on the test
// model, raw sockets as the attackers. Chunked bombs with and without a key, slowloris and idle connections while
// /health must stay fast, abandoned non-streaming clients, a full queue, per-key limits, a second server on the same
// port, SIGTERM with streams in flight, the operator's settings (Host, media type, /metrics, empty key) and HTTP edge
// cases (405, conflicting Content-Length, pipelining, keep-alive).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "raw_http.h"
#include "run_command.h"
#include "serve_process.h"
#include "temp_dir.h"

namespace whale::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kKey = "sk-abuse-test-key";
const std::string kAuth = std::string("Authorization: Bearer ") + kKey + "\r\n";
const std::string kJson = "Content-Type: application/json\r\n";

std::string chat_body(int max_tokens, bool stream = false) {
  return json{{"messages", {{{"role", "user"}, {"content", "Hello"}}}},
              {"temperature", 0},
              {"max_tokens", max_tokens},
              {"stream", stream}}
      .dump();
}

std::string post(const std::string& path, const std::string& body, const std::string& headers = kAuth + kJson) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A value from /metrics (sent with the key); -1 when absent.
double metric(int port, const std::string& name) {
  auto r = http_request(port, "GET", "/metrics", "", kAuth, 10s);
  if (!r || r->status != 200) return -1;
  const size_t at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(r->body.substr(at + name.size() + 2));
}

// Waits until `done()` or the deadline; returns whether done() held.
template <typename Done>
bool eventually(Done done, std::chrono::milliseconds timeout, std::chrono::milliseconds every = 5ms) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

double health_ms(int port) {
  const auto t0 = Clock::now();
  auto r = http_request(port, "GET", "/health", "", "", 5s);
  if (!r || r->status != 200) return 1e9;
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Sends an endless chunked body (64 KiB chunks) for up to 3 s, reading as it goes: the response it gets (empty if none)
// and how much it managed to send.
std::pair<std::string, size_t> chunked_bomb(RawConnection& c, const std::string& headers) {
  c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers +
         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = fmt::format("{:x}\r\n{}\r\n", 65536, std::string(65536, ' '));
  std::string response;
  size_t sent = 0;
  const auto end = Clock::now() + 3s;
  while (Clock::now() < end && response.find("\r\n\r\n") == std::string::npos && c.send(chunk)) {
    sent += 65536;
    response += c.receive(0ms);
  }
  response += c.receive(2s, "\r\n\r\n");
  return {response, sent};
}

TEST(ServerAbuseTest, ChunkedBombsAreCutOffWhileReading) {
  ServeProcess server({"--api-key", kKey, "--max-body", "65536"});
  ASSERT_GT(server.port(), 0) << server.output();
  const long rss_before = server.rss_kib();
  {  // no key: refused on the header, before any body byte is kept
    RawConnection c(server.port());
    auto [response, sent] = chunked_bomb(c, "");
    EXPECT_TRUE(response.starts_with("HTTP/1.1 401")) << response.substr(0, 200);
    EXPECT_LT(sent, 64u << 20) << "the server kept reading an unauthenticated body";
  }
  {  // with the key: cut at --max-body while the chunks arrive
    RawConnection c(server.port());
    auto [response, sent] = chunked_bomb(c, kAuth);
    EXPECT_TRUE(response.starts_with("HTTP/1.1 413")) << response.substr(0, 200);
    EXPECT_NE(response.find("body_too_large"), std::string::npos);
    EXPECT_LT(sent, 64u << 20);
  }
  EXPECT_LT(server.rss_kib() - rss_before, 32 * 1024) << "RSS grew by more than 32 MiB";
  EXPECT_LT(health_ms(server.port()), 1000);
}

TEST(ServerAbuseTest, SlowlorisAndIdleConnectionsDoNotStarveHealth) {
  ServeProcess server({"--api-key", kKey, "--header-timeout", "2"});
  ASSERT_GT(server.port(), 0) << server.output();
  std::vector<std::unique_ptr<RawConnection>> slow, idle;
  for (int i = 0; i < 64; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server.port()));
    slow.back()->send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  }
  for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<RawConnection>(server.port()));
  double worst = 0;
  for (int round = 0; round < 10; ++round) {
    for (auto& c : slow) c->send("a");  // one byte at a time, never finishing the header
    worst = std::max(worst, health_ms(server.port()));
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_LT(worst, 200) << "slowest /health with 64 slowloris and 300 idle connections open (ms)";
  // The header deadline (2 s here) closes the slow ones.
  for (auto& c : slow) EXPECT_TRUE(c->closed_by_peer(5s));
}

TEST(ServerAbuseTest, AbandonedRequestsFreeTheirSlotsAtOnce) {
  ServeProcess server({"--api-key", kKey, "--parallel", "4"});
  ASSERT_GT(server.port(), 0) << server.output();
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<RawConnection>(server.port()));
    clients.back()->send(post("/v1/chat/completions", chat_body(240, /*stream=*/i % 2 == 1)));
  }
  ASSERT_TRUE(eventually([&] { return metric(server.port(), "whale_active_slots") == 4; }, 30s));
  const double steps = metric(server.port(), "whale_engine_steps_total");
  const auto hang_up = Clock::now();
  clients.clear();  // two non-streaming and two streaming clients go away
  ASSERT_TRUE(eventually([&] { return metric(server.port(), "whale_active_slots") == 0; }, 10s));
  const double freed_ms = std::chrono::duration<double, std::milli>(Clock::now() - hang_up).count();
  EXPECT_LT(freed_ms, 1000) << "slots freed " << freed_ms << " ms after the clients hung up";
  EXPECT_LT(metric(server.port(), "whale_engine_steps_total") - steps, 120) << "generation went on without clients";
  EXPECT_EQ(metric(server.port(), "whale_kv_cache_tokens"), 0);
  EXPECT_EQ(metric(server.port(), "whale_requests_in_flight"), 0);
}

TEST(ServerAbuseTest, FullQueueAnswers429WithRetryAfter) {
  ServeProcess server({"--api-key", kKey, "--parallel", "1", "--max-queue", "1"});
  ASSERT_GT(server.port(), 0) << server.output();
  RawConnection a(server.port()), b(server.port());
  a.send(post("/v1/chat/completions", chat_body(240, true)));
  b.send(post("/v1/chat/completions", chat_body(240, true)));
  ASSERT_TRUE(eventually([&] { return metric(server.port(), "whale_requests_in_flight") == 2; }, 30s));
  auto r = http_request(server.port(), "POST", "/v1/chat/completions", chat_body(4), kAuth + kJson, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_NE(r->head.find("Retry-After: 1"), std::string::npos) << r->head;
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "server_busy");
  EXPECT_LT(health_ms(server.port()), 1000);
}

TEST(ServerAbuseTest, PerKeyConcurrencyAndRateLimits) {
  TempDir dir("whale-keys");
  const std::string keys = (dir.path() / "keys.txt").string();
  std::ofstream(keys) << "# operators' keys\nsk-key-one-aaaa id=one "
                         "concurrency=1\n\nsk-key-two-bbbb id=two rpm=2\n";
  ServeProcess server({"--api-key-file", keys, "--parallel", "4"});
  ASSERT_GT(server.port(), 0) << server.output();
  const std::string one = "Authorization: Bearer sk-key-one-aaaa\r\n" + kJson,
                    two = "Authorization: Bearer sk-key-two-bbbb\r\n" + kJson;
  RawConnection running(server.port());
  running.send(post("/v1/chat/completions", chat_body(240, true), one));
  ASSERT_FALSE(running.receive(10s, "data:").empty());
  auto r = http_request(server.port(), "POST", "/v1/chat/completions", chat_body(2), one, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_NE(r->body.find("'one'"), std::string::npos) << r->body;
  for (int i = 0; i < 2; ++i) {
    r = http_request(server.port(), "POST", "/v1/chat/completions", chat_body(2), two, 30s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  r = http_request(server.port(), "POST", "/v1/chat/completions", chat_body(2), two, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429) << r->body;
  EXPECT_NE(r->head.find("Retry-After: "), std::string::npos) << r->head;
  r = http_request(server.port(), "POST", "/v1/chat/completions", chat_body(2),
                   "Authorization: Bearer sk-key-one-aaab\r\n" + kJson, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

TEST(ServerAbuseTest, ASecondServerOnTheSamePortFails) {
  ServeProcess first({});
  ASSERT_GT(first.port(), 0) << first.output();
  ServeProcess second({}, first.port());
  EXPECT_EQ(second.port(), 0);
  EXPECT_EQ(second.wait_exit(60s), 1) << second.output();
  EXPECT_NE(second.output().find("whale: error: serve: cannot listen on 127.0.0.1:" + std::to_string(first.port())),
            std::string::npos)
      << second.output();
  EXPECT_LT(health_ms(first.port()), 1000);
}

TEST(ServerAbuseTest, SigtermEndsEveryStreamProperlyAndExitsZero) {
  ServeProcess server({"--parallel", "4", "--shutdown-grace", "1"});
  ASSERT_GT(server.port(), 0) << server.output();
  std::vector<std::unique_ptr<RawConnection>> streams;
  for (int i = 0; i < 8; ++i) {
    streams.push_back(std::make_unique<RawConnection>(server.port()));
    streams.back()->send(post("/v1/chat/completions", chat_body(240, true), kJson));
  }
  for (auto& s : streams) ASSERT_FALSE(s->receive(30s, "data:").empty());  // every stream has started
  server.signal(SIGTERM);
  int finished = 0, cancelled = 0;
  for (auto& s : streams) {
    const std::string body = s->receive(20s, "0\r\n\r\n");
    EXPECT_NE(body.find("data: [DONE]"), std::string::npos) << body.substr(body.size() > 400 ? body.size() - 400 : 0);
    EXPECT_TRUE(body.ends_with("0\r\n\r\n")) << "the chunked response was not ended";
    if (body.find("\"shutting_down\"") != std::string::npos)
      ++cancelled;
    else if (body.find("\"finish_reason\":\"") != std::string::npos)
      ++finished;
  }
  EXPECT_EQ(finished + cancelled, 8);
  EXPECT_EQ(server.wait_exit(20s), 0) << server.output();
  EXPECT_NE(server.output().find("whale serve: stopped"), std::string::npos);
}

TEST(ServerAbuseTest, OperatorSettingsAndHttpEdgeCases) {
  ServeProcess server({"--api-key", kKey});
  ASSERT_GT(server.port(), 0) << server.output();
  const int port = server.port();
  auto status = [&](const std::string& raw) {
    RawConnection c(port);
    c.send(raw);
    auto r = c.read_response(10s);
    return r ? r->status : 0;
  };
  // DNS rebinding: a loopback server answers only loopback names.
  EXPECT_EQ(status("GET /health HTTP/1.1\r\nHost: evil.example:" + std::to_string(port) + "\r\n\r\n"), 403);
  EXPECT_EQ(status("GET /health HTTP/1.1\r\nHost: localhost:" + std::to_string(port) + "\r\n\r\n"), 200);
  // A page's no-preflight text/plain POST is not JSON to us.
  EXPECT_EQ(status(post("/v1/chat/completions", chat_body(2), kAuth + "Content-Type: text/plain\r\n")), 415);
  EXPECT_EQ(status(post("/v1/chat/completions", chat_body(2), kAuth)), 415);
  EXPECT_EQ(status("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 401);
  EXPECT_EQ(status("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kAuth + "\r\n"), 200);
  EXPECT_EQ(status("GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 404);
  {
    RawConnection c(port);
    c.send("GET /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kAuth + "\r\n");
    auto r = c.read_response(10s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_NE(r->head.find("Allow: POST"), std::string::npos) << r->head;
  }
  EXPECT_EQ(status("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kAuth + kJson +
                   "Content-Length: 5\r\nContent-Length: 7\r\n\r\n{}"),
            400);
  {  // pipelined and keep-alive requests are answered in order on one connection
    RawConnection c(port);
    c.send(
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /v1/models "
        "HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        kAuth + "\r\n");
    auto first = c.read_response(10s), second = c.read_response(10s);
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->body, R"({"status":"ok"})");
    EXPECT_EQ(json::parse(second->body)["data"][0]["id"], "tiny-r1");
    for (int i = 0; i < 5; ++i) {
      c.send("GET /v1/models/tiny-r1 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + kAuth + "\r\n");
      auto r = c.read_response(10s);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
    }
  }
  // An empty key is a mistake, not "no authentication".
  CommandResult empty =
      run_command("timeout 60 " + std::string(WHALE_BINARY) + " serve --model /nonexistent --api-key ''");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.output.find("whale: error: --api-key: an API key must be at least 8 characters"), std::string::npos)
      << empty.output;
}

TEST(ServerAbuseTest, PublicMetricsAndOpenBindWarning) {
  ServeProcess server({"--metrics-public", "--api-key", kKey, "--host", "0.0.0.0"});
  ASSERT_GT(server.port(), 0) << server.output();
  auto r = http_request(server.port(), "GET", "/metrics", "", "", 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  // Bound to all addresses: no Host allow-list unless asked for.
  r = http_request(server.port(), "GET", "/health", "", "", 10s);
  EXPECT_TRUE(r && r->status == 200);
  ServeProcess open_server({"--host", "0.0.0.0"});
  ASSERT_GT(open_server.port(), 0) << open_server.output();
  EXPECT_NE(open_server.output().find("WARNING: listening on 0.0.0.0 without an API key"), std::string::npos)
      << open_server.output();
}

TEST(ServerAbuseTest, MemoryStaysFlatAfterManyLargePrompts) {
  ServeProcess server({"--api-key", kKey});
  ASSERT_GT(server.port(), 0) << server.output();
  auto large_prompt = [](int i) {
    std::string text;
    while (text.size() < 200'000) text += fmt::format("word{} Ünïcode {} lorem ipsum, ", i, text.size());
    return json{{"prompt", text}, {"max_tokens", 1}}.dump();
  };
  auto send_round = [&](int from, int to) {
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
      clients.emplace_back([&, t] {
        for (int i = from + t; i < to; i += 4) {
          auto r = http_request(server.port(), "POST", "/v1/completions", large_prompt(i), kAuth + kJson, 60s);
          EXPECT_TRUE(r && r->status == 400) << "the prompt is longer than the context";
        }
      });
    for (std::thread& c : clients) c.join();
  };
  send_round(0, 20);
  const long plateau = server.rss_kib();
  send_round(20, 200);
  EXPECT_LT(server.rss_kib() - plateau, 32 * 1024) << "RSS after 200 large prompts vs after 20 (KiB)";
}

}  // namespace
}  // namespace whale::testing
