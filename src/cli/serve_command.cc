// whale serve --model DIR [--host 127.0.0.1 --port 8080 --api-key KEY|--api-key-file F --parallel N --ctx N
//              --max-queue N --max-connections N --max-body BYTES
//              --shutdown-grace S --served-model-name NAME --alias NAME --cors ORIGIN --log-prompts
//              --no-access-log ...]
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "engine/batch_engine.h"
#include "engine/model_bundle.h"
#include "server/server.h"

namespace whale::cli {
namespace {

// SIGINT/SIGTERM become bytes on a pipe that one thread reads: a handler works whichever thread the kernel picks
// (libraries start threads of their own before main, so a blocked mask cannot cover them all), and writing one byte is
// all it does (async-signal-safe).
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int sig) {
  const char byte = char(sig);
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
}

void install_stop_signal_pipe() {
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) fail("serve: cannot create the signal pipe");
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// The signal received within `timeout` (-1: none; waits forever for a negative timeout).
int wait_for_stop_signal(std::chrono::milliseconds timeout) {
  pollfd p{g_signal_pipe[0], POLLIN, 0};
  if (::poll(&p, 1, timeout.count() < 0 ? -1 : int(timeout.count())) <= 0) return -1;
  char byte = 0;
  return ::read(g_signal_pipe[0], &byte, 1) == 1 ? int(byte) : -1;
}

// The first signal stops admitting and lets running requests finish for up to `grace`; a second signal (or the end of
// the grace period) cancels what still runs. Streams end with an error event and [DONE].
void shut_down_on_signal(server::Server& server, std::chrono::seconds grace) {
  const int sig = wait_for_stop_signal(std::chrono::milliseconds(-1));
  std::fprintf(stderr,
               "whale serve: %s: finishing %lld running requests (up to %llds; "
               "again to cancel them)\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)server.in_flight(), (long long)grace.count());
  server.begin_shutdown();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (server.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
    if (wait_for_stop_signal(std::chrono::milliseconds(50)) > 0) break;
  server.stop();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  struct Options {
    std::string model, api_key_file, name, policy;
    std::optional<std::string> api_key;
    server::ServerOptions server;
    EngineOptions engine;
    size_t threads = 0;
    bool mmap = false, no_access_log = false;
    int64_t grace_s = 10, header_timeout_s = 10, body_timeout_s = 30, idle_timeout_s = 30;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching and a web chat");
  cmd->add_option("--model", opt->model,
                  "checkpoint directory (hub layout, with tokenizer files) or "
                  ".gguf file")
      ->required();
  cmd->add_option("--host", opt->server.host, "address to bind (loopback by default)");
  cmd->add_option("--port", opt->server.port, "TCP port (0: any free port)")->check(CLI::Range(0, 65535));
  auto* key = cmd->add_option("--api-key", opt->api_key, "require 'Authorization: Bearer KEY' on /v1/* and /metrics");
  cmd->add_option("--api-key-file", opt->api_key_file,
                  "keys, one per line: 'KEY [id=NAME] [concurrency=N] [rpm=N]' "
                  "(see README)")
      ->excludes(key);
  cmd->add_flag("--metrics-public", opt->server.metrics_public, "serve /metrics without a key");
  cmd->add_option("--allow-host", opt->server.allowed_hosts,
                  "Host header accepted besides localhost/127.0.0.1/[::1] "
                  "(repeatable; enforced on loopback binds)");
  cmd->add_option("--parallel", opt->engine.n_slots, "sequences decoded together (slots)")->check(CLI::Range(1, 1024));
  cmd->add_option("--ctx", opt->engine.ctx,
                  "context per slot, prompt + completion (0: the model's "
                  "maximum, at most 4096)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  cmd->add_option("--max-queue", opt->server.max_queue, "requests waiting beyond the slots; more get 429")
      ->check(CLI::Range(int64_t(0), int64_t(4096)));
  cmd->add_option("--max-connections", opt->server.transport.max_connections, "open connections; more get 503")
      ->check(CLI::Range(size_t(8), size_t(1) << 20));
  cmd->add_option("--max-body", opt->server.limits.max_body_bytes, "largest request body in bytes")
      ->check(CLI::Range(size_t(1024), size_t(1) << 30));
  cmd->add_option("--header-timeout", opt->header_timeout_s, "seconds for a request header to arrive")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--body-timeout", opt->body_timeout_s, "seconds for a request body to arrive")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--idle-timeout", opt->idle_timeout_s,
                  "seconds a keep-alive connection may wait for its next request")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--shutdown-grace", opt->grace_s, "seconds running requests may finish after SIGINT/SIGTERM")
      ->check(CLI::Range(0, 3600));
  cmd->add_option("--policy", opt->policy, "the operator's output policy (TOML rules; see README)");
  cmd->add_option("--served-model-name", opt->name, "model id in the API (default: the directory name)");
  cmd->add_option("--alias", opt->server.limits.aliases,
                  "another model name requests may give (repeatable; answers name the served model)")
      ->check([](const std::string& a) { return a.empty() ? std::string("an alias cannot be empty") : std::string(); });
  cmd->add_option("--cors", opt->server.cors_origins,
                  "origin whose web pages may call the API, e.g. https://app.example (repeatable; '*': any)");
  cmd->add_flag("--no-access-log", opt->no_access_log, "no line per request on stderr");
  cmd->add_flag("--log-prompts", opt->server.access_log.bodies,
                "add each request body (its first 1000 bytes) to the access log")
      ->excludes("--no-access-log");
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt] {
    server::ServerOptions& so = opt->server;
    if (opt->api_key) so.keys = server::ApiKeys::single(*opt->api_key);
    if (!opt->api_key_file.empty()) so.keys = server::ApiKeys::from_file(opt->api_key_file);
    if (!opt->policy.empty()) so.policy = std::make_shared<const server::Policy>(server::Policy::load(opt->policy));
    if (!server::is_loopback_host(so.host) && !so.keys.enabled())
      std::fprintf(stderr,
                   "whale serve: WARNING: listening on %s without an API key: "
                   "anyone who can reach this address can "
                   "use the model (set --api-key-file)\n",
                   so.host.c_str());
    so.access_log.enabled = !opt->no_access_log;
    so.transport.header_timeout = std::chrono::seconds(opt->header_timeout_s);
    so.transport.body_timeout = std::chrono::seconds(opt->body_timeout_s);
    so.transport.idle_timeout = std::chrono::seconds(opt->idle_timeout_s);
    so.limits.model_name =
        opt->name.empty() ? std::filesystem::path(opt->model).lexically_normal().filename().string() : opt->name;
    if (so.limits.model_name.empty()) so.limits.model_name = "whale";

    ThreadPool pool(opt->threads);
    std::fprintf(stderr, "whale serve: loading %s\n", opt->model.c_str());
    ModelBundle bundle = ModelBundle::load(opt->model, pool, {.load = {.mmap = opt->mmap}});
    if (!bundle.chat_template)
      std::fprintf(stderr, "whale serve: %s has no chat template; /v1/chat/completions will answer 400\n",
                   opt->model.c_str());
    for (const std::string& key : bundle.generation.ignored)
      std::fprintf(stderr, "whale serve: generation_config.json %s is not applied (not supported yet)\n", key.c_str());
    // Requests that leave a sampling parameter out get the checkpoint's recommendation (vLLM does the same).
    so.limits.default_sampling = bundle.generation.sampling(so.limits.default_sampling);
    so.limits.default_max_tokens = bundle.generation.max_new_tokens;
    so.limits.default_repetition_penalty = bundle.generation.repetition_penalty.value_or(1.0f);
    const Model& model = *bundle.model;
    if (opt->engine.ctx == 0) opt->engine.ctx = std::min<int64_t>(model.config().max_position, 4096);
    opt->engine.vocab_limit = bundle.vocab_limit;

    BatchEngine engine(*bundle.model, opt->engine);
    const std::string name = so.limits.model_name, host = so.host;
    server::Server server(
        {.engine = engine,
         .tokenizer = *bundle.tokenizer,
         .chat_template = bundle.chat_template,
         .stop_ids = bundle.stop_ids},
        std::move(so));
    install_stop_signal_pipe();  // from here a signal is a graceful shutdown (during the load it ends the process)
    const int port = server.bind();
    engine.start();
    std::thread waiter([&] { shut_down_on_signal(server, std::chrono::seconds(opt->grace_s)); });
    std::printf("whale serve: %s on http://%s:%d (%lld slots × %lld tokens)\n", name.c_str(), host.c_str(), port,
                (long long)engine.options().n_slots, (long long)engine.ctx());
    std::fflush(stdout);
    server.listen();
    waiter.join();
    std::fprintf(stderr, "whale serve: stopped\n");
  });
}

}  // namespace whale::cli
