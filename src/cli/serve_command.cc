// whale serve --model DIR [--host 127.0.0.1 --port 8080 --api-key KEY|--api-key-file F --parallel N --ctx N
//              --max-body BYTES --served-model-name NAME]
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "engine/batch_engine.h"
#include "server/server.h"

namespace whale::cli {
namespace {

std::string read_key_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("--api-key-file: cannot open {}", path);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.empty()) fail("--api-key-file: {} is empty", path);
  return key;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  struct Options {
    std::string model, api_key, api_key_file, name;
    server::ServerOptions server;
    EngineOptions engine;
    size_t threads = 0;
    bool mmap = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching and a web chat");
  cmd->add_option("--model", opt->model, "checkpoint directory (hub layout, with tokenizer files)")->required();
  cmd->add_option("--host", opt->server.host, "address to bind (loopback by default)");
  cmd->add_option("--port", opt->server.port, "TCP port (0: any free port)")->check(CLI::Range(0, 65535));
  auto* key = cmd->add_option("--api-key", opt->api_key, "require 'Authorization: Bearer KEY' on /v1/*");
  cmd->add_option("--api-key-file", opt->api_key_file, "read the API key from a file")->excludes(key);
  cmd->add_option("--parallel", opt->engine.n_slots, "sequences decoded together (slots)")->check(CLI::Range(1, 1024));
  cmd->add_option("--ctx", opt->engine.ctx, "context per slot, prompt + completion (0: the model's maximum, at most 4096)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  cmd->add_option("--max-body", opt->server.limits.max_body_bytes, "largest request body in bytes")
      ->check(CLI::Range(size_t(1024), size_t(1) << 30));
  cmd->add_option("--served-model-name", opt->name, "model id in the API (default: the directory name)");
  cmd->add_option("--http-threads", opt->server.http_threads, "concurrent HTTP connections")->check(CLI::Range(2, 4096));
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt] {
    if (!opt->api_key_file.empty()) opt->api_key = read_key_file(opt->api_key_file);
    opt->server.api_key = opt->api_key;
    opt->server.limits.model_name =
        opt->name.empty() ? std::filesystem::path(opt->model).lexically_normal().filename().string() : opt->name;
    if (opt->server.limits.model_name.empty()) opt->server.limits.model_name = "whale";

    ThreadPool pool(opt->threads);
    std::unique_ptr<Model> model = Model::load(opt->model, pool, {.mmap = opt->mmap});
    Tokenizer tokenizer = Tokenizer::load(opt->model);
    std::optional<ChatTemplate> chat_template;
    if (tokenizer.config().contains("chat_template"))
      chat_template = ChatTemplate::from_tokenizer_config(tokenizer.config(), opt->model + "/tokenizer_config.json");
    else
      std::fprintf(stderr, "whale serve: %s has no chat template; /v1/chat/completions will answer 400\n",
                   opt->model.c_str());
    std::vector<int32_t> stop_ids;
    for (int64_t e : model->config().eos_token_ids) stop_ids.push_back(int32_t(e));
    if (tokenizer.eos_id() >= 0) stop_ids.push_back(tokenizer.eos_id());
    if (opt->engine.ctx == 0) opt->engine.ctx = std::min<int64_t>(model->config().max_position, 4096);
    opt->engine.vocab_limit = std::min<int64_t>(tokenizer.vocab_size(), model->config().vocab_size);

    BatchEngine engine(*model, opt->engine);
    server::Server server({.engine = engine, .tokenizer = tokenizer, .chat_template = chat_template,
                           .stop_ids = stop_ids},
                          opt->server);
    // SIGINT/SIGTERM end the server from a thread that waits for them (no work inside a signal handler).
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const int port = server.bind();
    engine.start();
    std::thread waiter([&] {
      int sig = 0;
      sigwait(&signals, &sig);
      server.stop();
    });
    std::printf("whale serve: %s on http://%s:%d (%lld slots × %lld tokens)\n",
                opt->server.limits.model_name.c_str(), opt->server.host.c_str(), port,
                (long long)engine.options().n_slots, (long long)engine.ctx());
    std::fflush(stdout);
    server.listen();
    pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter if listen ended another way
    waiter.join();
  });
}

}  // namespace whale::cli
