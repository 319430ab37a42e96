// `whale serve`: the OpenAI HTTP API over a BatchEngine. The transport (server/http_listener.h) reads requests on a few
// I/O threads; checks that need no body (route, method, Host, API key, media type) refuse a request before its body is
// read. /health, /metrics, /v1/models, /tokenize, /detokenize and the web page are answered on the I/O threads and
// never wait behind generation. A generation request is admitted if the server has room (the engine's slots plus
// --max-queue waiting; else 429 with Retry-After) and its key is within its limits, then runs on a thread of its own:
// request → prompt ids → GenerationJob (the engine steps all slots on its own thread) → JSON or SSE, cancelled when the
// client hangs up or the server shuts down.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch_engine.h"
#include "server/api_keys.h"
#include "server/http_listener.h"
#include "server/policy.h"
#include "server/request.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (see bind())
  ApiKeys keys;                    // none: no authentication on /v1/* and /metrics
  ServerLimits limits;
  int64_t max_queue = 64;       // generation requests waiting beyond the engine's slots; more → 429
  bool metrics_public = false;  // /metrics without a key
  // Host header values accepted besides localhost, 127.0.0.1 and [::1] (with any port). Enforced when the server binds
  // a loopback address (a DNS-rebinding page would send its own host name) or when non-empty.
  std::vector<std::string> allowed_hosts;
  ListenerOptions transport;             // connections, deadlines, I/O threads (host, port,
                                         // max body are set from above)
  std::shared_ptr<const Policy> policy;  // the operator's output policy (--policy); null: none
  // Origins whose pages may call the API from a browser (--cors; "*": any). Empty: no CORS headers, and OPTIONS is a
  // 405 like any other method a route does not take.
  std::vector<std::string> cors_origins;
  // One line per response on stderr: time (UTC), client address, method, path (never the query), status, latency.
  // Never a header (so never the API key) or the body, unless `bodies` (--log-prompts): then a line with the first
  // 1000 bytes of each request body when it arrives.
  struct AccessLog {
    bool enabled = false;
    bool bodies = false;
  } access_log;
};

// The model behind the server: tokenizer, optional chat template and the ids that end generation.
struct ServedModel {
  BatchEngine& engine;
  const Tokenizer& tokenizer;
  std::optional<ChatTemplate> chat_template;
  std::vector<int32_t> stop_ids;
};

bool is_loopback_host(const std::string& host);

class Server {
 public:
  Server(ServedModel model, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the bound port; throws whale::Error when the address cannot be bound (in use by another
  // process, or not an address of this machine).
  int bind();
  // Serves until stop(); returns after every request thread and I/O thread has ended.
  void listen();

  // Graceful shutdown, in steps: stop admitting (new connections and requests get 503), wait while requests run
  // (in_flight()), cancel those still running (streams end with an error event and [DONE], others with a 503), then
  // stop().
  void begin_shutdown();
  int64_t in_flight() const;
  void cancel_in_flight();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace whale::server
