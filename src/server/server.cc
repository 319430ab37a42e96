#include "server/server.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/completion_handler.h"
#include "server/metrics.h"
#include "server/web_assets.h"

namespace whale::server {
namespace {

using nlohmann::json;

HttpResponse error_response(const HttpError& e, Headers headers = {}) {
  return {.status = e.status(), .body = error_json(e).dump(), .headers = std::move(headers)};
}

// A JSON body; invalid UTF-8 in it (token pieces) becomes U+FFFD.
HttpResponse json_response(const json& j) { return {.body = j.dump(-1, ' ', false, json::error_handler_t::replace)}; }

enum class Route {
  kPage,
  kAsset,
  kHealth,
  kMetrics,
  kModels,
  kModel,
  kChat,
  kCompletions,
  kEmbeddings,
  kTokenize,
  kDetokenize
};
enum class Auth { kNone, kKey, kMetrics };  // kMetrics: the key unless --metrics-public

struct RouteSpec {
  const char* path;
  const char* method;
  Route route;
  Auth auth = Auth::kNone;
  bool prefix = false;          // path is a prefix: /v1/models/{id}
  const char* label = nullptr;  // a prefix route's endpoint in the metrics
};
constexpr RouteSpec kRoutes[] = {
    {"/", "GET", Route::kPage},
    {"/assets/", "GET", Route::kAsset, Auth::kNone, true, "/assets/{file}"},  // the page's scripts, styles and fonts
    {"/health", "GET", Route::kHealth},
    {"/metrics", "GET", Route::kMetrics, Auth::kMetrics},
    {"/v1/models", "GET", Route::kModels, Auth::kKey},
    {"/v1/models/", "GET", Route::kModel, Auth::kKey, true, "/v1/models/{id}"},
    {"/v1/chat/completions", "POST", Route::kChat, Auth::kKey},
    {"/v1/completions", "POST", Route::kCompletions, Auth::kKey},
    {"/v1/embeddings", "POST", Route::kEmbeddings, Auth::kKey},  // a clear 404: no embedding model here
    {"/tokenize", "POST", Route::kTokenize, Auth::kKey},         // the vocabulary is the model's: keyed like /v1/*
    {"/detokenize", "POST", Route::kDetokenize, Auth::kKey},
};

const RouteSpec* find_route(const std::string& path) {
  for (const RouteSpec& r : kRoutes)
    if (r.prefix ? path.starts_with(r.path) && path.size() > std::strlen(r.path) : path == r.path) return &r;
  return nullptr;
}

// --- /tokenize and /detokenize: llama-server's bodies, checked as request.cc checks the OpenAI ones -----------------

// request.cc's parse_body for these bodies: the same limit, the same errors.
json parse_object(const std::string& body, size_t max_bytes) {
  if (body.size() > max_bytes)
    throw HttpError(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes", body.size(), max_bytes),
                    "", "body_too_large");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw HttpError(400, "request body is not valid JSON", "", "invalid_json");
  if (!j.is_object()) throw HttpError(400, "request body must be a JSON object", "", "invalid_json");
  return j;
}

[[noreturn]] void bad_field(const std::string& name, const std::string& what) {
  throw HttpError(400, fmt::format("'{}' {}", name, what), name, "invalid_value");
}

const json& required_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) bad_field(name, "is required");
  return *it;
}

bool optional_flag(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) bad_field(name, "must be a boolean");
  return it->get<bool>();
}

// {"content": TEXT, "add_special": false, "with_pieces": false} → {"tokens": [id, ...]}, or with_pieces
// [{"id", "piece"}, ...] (the token's bytes as text). Added tokens spelled in the text become their ids, as the
// tokenizer's encode() does and llama-server's /tokenize; add_special puts the BOS first when the tokenizer adds one.
json tokenize(const Tokenizer& tokenizer, const std::string& body, size_t max_bytes) {
  const json j = parse_object(body, max_bytes);
  const json& content = required_field(j, "content");
  if (!content.is_string()) bad_field("content", "must be a string");
  const bool add_special = optional_flag(j, "add_special"), with_pieces = optional_flag(j, "with_pieces");
  std::vector<int32_t> ids;
  if (add_special && tokenizer.add_bos_token() && tokenizer.bos_id() >= 0) ids.push_back(tokenizer.bos_id());
  try {
    const std::vector<int32_t> text = tokenizer.encode(content.get_ref<const std::string&>());
    ids.insert(ids.end(), text.begin(), text.end());
  } catch (const Error& e) {  // invalid UTF-8
    bad_field("content", fmt::format("cannot be tokenized: {}", e.what()));
  }
  json tokens = json::array();
  for (int32_t id : ids)
    tokens.push_back(with_pieces ? json{{"id", id}, {"piece", std::string(tokenizer.token_bytes(id))}} : json(id));
  return {{"tokens", std::move(tokens)}};
}

// An element of "tokens": an integer id of the vocabulary.
int32_t token_id(const json& v, const Tokenizer& tokenizer, const std::string& at) {
  if (!v.is_number_integer()) bad_field(at, "must be an integer token id");
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT32_MAX)
                                           : v.get<int64_t>() >= 0 && v.get<int64_t>() <= INT32_MAX;
  if (!fits || !tokenizer.is_valid_id(int32_t(v.get<int64_t>())))
    bad_field(at,
              fmt::format("is {}, not a token id of the vocabulary (0 to {})", v.dump(), tokenizer.vocab_size() - 1));
  return int32_t(v.get<int64_t>());
}

// {"tokens": [id, ...]} → {"content": TEXT}; special tokens are kept, bytes that are not UTF-8 become U+FFFD.
json detokenize(const Tokenizer& tokenizer, const std::string& body, size_t max_bytes) {
  const json j = parse_object(body, max_bytes);
  const json& tokens = required_field(j, "tokens");
  if (!tokens.is_array()) bad_field("tokens", "must be an array of token ids");
  std::vector<int32_t> ids;
  for (size_t i = 0; i < tokens.size(); ++i)
    ids.push_back(token_id(tokens[i], tokenizer, fmt::format("tokens[{}]", i)));
  return {{"content", tokenizer.decode(ids)}};
}

// --- CORS -----------------------------------------------------------------------------------------------------------

// --cors: which pages may read the answers. Every response then says Vary: Origin and, to a listed Origin (any with
// "*"), Access-Control-Allow-Origin; OPTIONS on a route is the preflight, answered without a key.
class Cors {
 public:
  explicit Cors(std::vector<std::string> origins) : origins_(std::move(origins)) {}
  bool enabled() const { return !origins_.empty(); }
  // What a route taking `method` allows.
  std::string methods(std::string_view method) const {
    return enabled() ? fmt::format("{}, OPTIONS", method) : std::string(method);
  }
  Headers headers_for(const HttpRequest& req) const {
    if (!enabled()) return {};
    Headers headers = {{"Vary", "Origin"}};
    if (std::string origin = allowed_origin(req.header("Origin")); !origin.empty())
      headers.emplace_back("Access-Control-Allow-Origin", std::move(origin));
    return headers;
  }
  HttpResponse preflight(std::string_view method) const {
    return {.status = 204,
            .headers = {{"Access-Control-Allow-Methods", methods(method)},
                        {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                        {"Access-Control-Max-Age", "600"}}};
  }

 private:
  // The origin itself when listed, "*" when any is allowed, else empty.
  std::string allowed_origin(const std::string& origin) const {
    if (origin.empty()) return {};
    for (const std::string& o : origins_)
      if (iequals(o, origin)) return origin;
    return std::find(origins_.begin(), origins_.end(), "*") != origins_.end() ? "*" : "";
  }
  std::vector<std::string> origins_;
};

void append(Headers& to, const Headers& extra) { to.insert(to.end(), extra.begin(), extra.end()); }

// A sink whose response, streamed or not, carries extra headers.
class HeaderSink : public ResponseSink {
 public:
  HeaderSink(std::shared_ptr<ResponseSink> inner, Headers extra) : inner_(std::move(inner)), extra_(std::move(extra)) {}
  void respond(HttpResponse r) override {
    append(r.headers, extra_);
    inner_->respond(std::move(r));
  }
  bool begin_stream(const HttpResponse& head) override {
    HttpResponse h = head;
    append(h.headers, extra_);
    return inner_->begin_stream(h);
  }
  bool write(std::string_view data) override { return inner_->write(data); }
  void end_stream() override { inner_->end_stream(); }
  bool client_gone() const override { return inner_->client_gone(); }
  void annotate(std::string note) override { inner_->annotate(std::move(note)); }

 private:
  std::shared_ptr<ResponseSink> inner_;
  Headers extra_;
};

// --- access log -----------------------------------------------------------------------------------------------------

std::string utc_now() {
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return fmt::format("{:%FT%T}.{:03}Z", fmt::gmtime(std::time_t(ms / 1000)), ms % 1000);
}

// A request field as one log word: "-" when empty, control characters and spaces as '?'.
std::string log_word(std::string s) {
  if (s.empty()) return "-";
  for (char& c : s)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) c = '?';
  return s;
}

// ServerOptions::access_log: a line per response, "time client method path status latency tokens" (tokens
// "prompt+completion" for a generation, else "-"). The latency runs from the header's arrival; a request the transport
// refused before parsing its header (no method) has "-".
class AccessLog {
 public:
  explicit AccessLog(ServerOptions::AccessLog options) : options_(options) {}

  // --log-prompts: the body when it has arrived, truncated.
  void body(const HttpRequest& req) const {
    if (!options_.enabled || !options_.bodies || req.body.empty()) return;
    const std::string shown = json(req.body.substr(0, kBodyBytes)).dump(-1, ' ', false, json::error_handler_t::replace);
    write(fmt::format(
        "{} body {}{}\n", request_words(req), shown,
        req.body.size() > kBodyBytes ? fmt::format(" (first {} of {} bytes)", kBodyBytes, req.body.size()) : ""));
  }
  void finished(const HttpRequest& head, int status) const {
    if (!options_.enabled) return;
    const bool timed = !head.method.empty() && head.received != std::chrono::steady_clock::time_point{};
    const std::string latency =
        timed ? fmt::format("{:.1f}ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                                   head.received)
                                            .count())
              : "-";
    write(fmt::format("{} {} {} {}\n", request_words(head), status, latency, log_word(head.note)));
  }

 private:
  static constexpr size_t kBodyBytes = 1000;
  // time, client, method, path (without the query, which may hold secrets)
  static std::string request_words(const HttpRequest& r) {
    return fmt::format("{} {} {} {}", utc_now(), log_word(r.remote), log_word(r.method), log_word(r.path));
  }
  static void write(const std::string& line) { std::fwrite(line.data(), 1, line.size(), stderr); }

  const ServerOptions::AccessLog options_;
};

// "localhost:8080" → "localhost", "[::1]:80" → "[::1]".
std::string host_without_port(const std::string& host) {
  if (host.starts_with('[')) return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

// Threads that each run one generation request; finished ones are joined as new ones start.
class RequestThreads {
 public:
  ~RequestThreads() { join_all(); }
  template <typename Fn>
  void start(Fn fn) {
    std::lock_guard lock(mutex_);
    reap_locked();
    auto& entry = threads_.emplace_back();
    entry.thread = std::thread([fn = std::move(fn), done = &entry.done]() mutable {
      fn();
      done->store(true);
    });
  }
  void join_all() {
    std::list<Entry> all;
    {
      std::lock_guard lock(mutex_);
      all.swap(threads_);
    }
    for (Entry& e : all) e.thread.join();
  }

 private:
  struct Entry {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void reap_locked() {
    for (auto it = threads_.begin(); it != threads_.end();)
      if (it->done.load()) {
        it->thread.join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
  }
  std::mutex mutex_;
  std::list<Entry> threads_;
};

}  // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

struct Server::Impl : HttpHandler {
  Impl(ServedModel m, ServerOptions o)
      : model(std::move(m)),
        options(std::move(o)),
        handler(model, options, metrics, aborting),
        created(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count()),
        capacity(model.engine.options().n_slots + options.max_queue),
        cors(options.cors_origins),
        access(options.access_log),
        listener(transport_options(options), *this) {}

  static ListenerOptions transport_options(const ServerOptions& o) {
    ListenerOptions t = o.transport;
    t.host = o.host;
    t.port = o.port;
    t.max_body_bytes = o.limits.max_body_bytes;
    return t;
  }

  bool host_allowed(const HttpRequest& head) const {
    const bool enforce = is_loopback_host(options.host) || !options.allowed_hosts.empty();
    const std::string host = head.header("Host");
    if (!enforce || host.empty()) return true;  // HTTP/1.0 clients send none; browsers always do
    const std::string name = host_without_port(host);
    for (const char* local : {"localhost", "127.0.0.1", "[::1]"})
      if (iequals(name, local)) return true;
    return std::any_of(options.allowed_hosts.begin(), options.allowed_hosts.end(),
                       [&](const std::string& h) { return iequals(name, h); });
  }

  const ApiKey* key_of(const HttpRequest& req) const { return options.keys.authenticate(req.header("Authorization")); }

  std::optional<HttpResponse> check(const HttpRequest& head) override {
    std::optional<HttpResponse> refusal = refusal_of(head);
    if (refusal) append(refusal->headers, cors.headers_for(head));
    return refusal;
  }

  // What answers a request on its header alone: a refusal, or the CORS preflight.
  std::optional<HttpResponse> refusal_of(const HttpRequest& head) const {
    if (draining.load()) {
      HttpResponse r =
          error_response(HttpError(503, "the server is shutting down", "", "shutting_down", "server_error"));
      r.close = true;
      return r;
    }
    if (!host_allowed(head))
      return error_response(HttpError(
          403, fmt::format("Host '{}' is not allowed (start the server with --allow-host)", head.header("Host")), "",
          "host_not_allowed"));
    const RouteSpec* route = find_route(head.path);
    if (!route)
      return error_response(HttpError(404, fmt::format("no route for {} {}", head.method, head.path), "", "not_found"));
    if (head.method == "OPTIONS" && cors.enabled()) return cors.preflight(route->method);
    if (head.method != route->method)
      return error_response(
          HttpError(405, fmt::format("{} does not accept {} (use {})", head.path, head.method, route->method), "",
                    "method_not_allowed"),
          {{"Allow", cors.methods(route->method)}});
    const bool needs_key = route->auth == Auth::kKey || (route->auth == Auth::kMetrics && !options.metrics_public);
    if (needs_key && options.keys.enabled() && !key_of(head))
      return error_response(HttpError(401,
                                      "Incorrect API key provided. Send it as "
                                      "'Authorization: Bearer <key>'.",
                                      "", "invalid_api_key"),
                            {{"WWW-Authenticate", "Bearer"}});
    if (std::string_view(route->method) == "POST") {
      const std::string type = head.header("Content-Type");
      std::string media = type.substr(0, type.find(';'));
      media.erase(media.find_last_not_of(" \t") + 1);
      if (!iequals(media, "application/json"))
        return error_response(HttpError(415,
                                        fmt::format("a JSON body is expected: send "
                                                    "'Content-Type: application/json' "
                                                    "(got '{}')",
                                                    type),
                                        "", "unsupported_media_type"));
    }
    return std::nullopt;
  }

  void handle(HttpRequest req, std::shared_ptr<ResponseSink> sink) override {
    access.body(req);
    if (cors.enabled()) sink = std::make_shared<HeaderSink>(std::move(sink), cors.headers_for(req));
    const Route route = find_route(req.path)->route;  // check() accepted it
    if (route == Route::kChat || route == Route::kCompletions) return generate(route, std::move(req), std::move(sink));
    try {
      sink->respond(answer(route, req));
    } catch (const HttpError& e) {
      sink->respond(error_response(e));
    }
  }

  // The routes answered on the I/O thread; throws HttpError.
  HttpResponse answer(Route route, const HttpRequest& req) {
    switch (route) {
      case Route::kPage:
      case Route::kAsset:
        return web_page(route, req);
      case Route::kHealth:
        return {.body = R"({"status":"ok"})"};
      case Route::kMetrics:
        return {.content_type = "text/plain; version=0.0.4",
                .body = metrics.render(model.engine.stats(), {.connections = int64_t(listener.open_connections()),
                                                              .in_flight = running.load(),
                                                              .capacity = capacity}) +
                        (options.policy ? options.policy->render_prometheus() : "")};
      case Route::kModels:
        return json_response(models_json());
      case Route::kModel:
        return json_response(model_entry(req.path.substr(std::strlen("/v1/models/"))));
      case Route::kEmbeddings:
        throw HttpError(404, "this server serves a generative model; embeddings are not available", "model",
                        "model_not_supported");
      case Route::kTokenize:
        return json_response(tokenize(model.tokenizer, req.body, options.limits.max_body_bytes));
      case Route::kDetokenize:
        return json_response(detokenize(model.tokenizer, req.body, options.limits.max_body_bytes));
      case Route::kChat:
      case Route::kCompletions:
        break;  // handle() starts these on a thread of their own
    }
    throw HttpError(500, "no I/O-thread answer for this route", "", "server_error", "server_error");
  }

  // The page and its assets: no key needed, the API calls it makes send the key.
  static HttpResponse web_page(Route route, const HttpRequest& req) {
    const std::optional<WebAsset> asset = web_asset(req.path);
    if (!asset) throw HttpError(404, fmt::format("no route for {} {}", req.method, req.path), "", "not_found");
    HttpResponse r{.content_type = std::string(asset->content_type), .body = std::string(asset->body)};
    if (route == Route::kAsset) r.headers = {{"Cache-Control", "public, max-age=86400"}};
    return r;
  }

  void log(const HttpRequest& req, int status) override {
    access.finished(req, status);
    const RouteSpec* route = find_route(req.path);
    metrics.count_request(!route ? "other" : route->prefix ? route->label : req.path, status);
  }

  // The served model under its name and each --alias: a client that picks a name from the list finds the one it
  // expects. Every answer, /v1/models/{alias} included, names the model by its canonical name.
  json model_json(const std::string& id) const {
    return {{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "whale"}};
  }
  json models_json() const {
    json data = json::array({model_json(options.limits.model_name)});
    for (const std::string& alias : options.limits.aliases) data.push_back(model_json(alias));
    return {{"object", "list"}, {"data", std::move(data)}};
  }
  json model_entry(const std::string& id) const {
    const std::vector<std::string>& aliases = options.limits.aliases;
    if (id != options.limits.model_name && std::find(aliases.begin(), aliases.end(), id) == aliases.end())
      throw HttpError(404, fmt::format("The model '{}' does not exist", id), "model", "model_not_found");
    return model_json(options.limits.model_name);
  }

  // Admission, then the request on a thread of its own.
  void generate(Route route, HttpRequest req, std::shared_ptr<ResponseSink> sink) {
    const ApiKey* key = key_of(req);
    if (running.fetch_add(1) >= capacity) {
      running.fetch_sub(1);
      return sink->respond(error_response(HttpError(429,
                                                    fmt::format("the server is at capacity ({} requests "
                                                                "running or queued); retry later",
                                                                capacity),
                                                    "", "server_busy", "rate_limit_error"),
                                          {{"Retry-After", "1"}}));
    }
    if (std::optional<ApiKeys::Refusal> refused = options.keys.acquire(key)) {
      running.fetch_sub(1);
      return sink->respond(
          error_response(HttpError(429, refused->message, "", "rate_limit_exceeded", "rate_limit_error"),
                         {{"Retry-After", std::to_string(refused->retry_after_s)}}));
    }
    threads.start([this, route, key, req = std::move(req), sink = std::move(sink)] {
      try {
        const std::string key_id = key ? key->id : "";
        if (route == Route::kChat)
          handler.chat(req, *sink, key_id);
        else
          handler.completion(req, *sink, key_id);
      } catch (const HttpError& e) {
        sink->respond(error_response(e));
      } catch (const std::exception& e) {  // engine admission, tokenizer input, template
        sink->respond(error_response(HttpError(400, e.what())));
      }
      options.keys.release(key);
      running.fetch_sub(1);
    });
  }

  ServedModel model;
  ServerOptions options;
  Metrics metrics;
  std::atomic<bool> draining{false}, aborting{false};
  CompletionHandler handler;
  int64_t created;
  const int64_t capacity;
  std::atomic<int64_t> running{0};
  const Cors cors;
  AccessLog access;
  HttpListener listener;
  RequestThreads threads;  // last: joined before anything they use is destroyed
};

Server::Server(ServedModel model, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options))) {}

Server::~Server() {
  cancel_in_flight();
  impl_->threads.join_all();
  stop();
}

int Server::bind() { return impl_->listener.bind(); }

void Server::listen() { impl_->listener.run(); }

void Server::begin_shutdown() {
  impl_->draining = true;
  impl_->listener.stop_accepting();
}

int64_t Server::in_flight() const { return impl_->running.load(); }

void Server::cancel_in_flight() { impl_->aborting = true; }

void Server::stop() {
  impl_->aborting = true;
  impl_->threads.join_all();  // they end within a poll interval of the abort
  impl_->listener.stop();
}

}  // namespace whale::server
