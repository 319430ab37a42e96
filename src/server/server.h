// `whale serve`: the OpenAI HTTP API over a BatchEngine. HTTP threads parse requests and post them to the
// engine (which owns the model and steps all slots on its own thread); token ids come back through
// GenerationJob and leave as JSON or SSE. The web chat page is served at /.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/batch_engine.h"
#include "server/request.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (see bind())
  std::string api_key;             // empty: no authentication on /v1/*
  ServerLimits limits;
  int http_threads = 64;  // concurrent connections (each streaming client holds one)
};

// The model behind the server: tokenizer, optional chat template and the ids that end generation.
struct ServedModel {
  BatchEngine& engine;
  const Tokenizer& tokenizer;
  std::optional<ChatTemplate> chat_template;
  std::vector<int32_t> stop_ids;
};

// Constant-time comparison of a presented credential with the configured one.
bool constant_time_equal(std::string_view a, std::string_view b);

class Server {
 public:
  Server(ServedModel model, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port and returns the bound port; throws whale::Error when the address cannot be bound.
  int bind();
  // Serves until stop() (from any thread).
  void listen();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace whale::server
