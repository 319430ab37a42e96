#include "server/server.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
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

enum class Route { kPage, kAsset, kHealth, kMetrics, kModels, kModel, kChat, kCompletions };

struct RouteSpec {
  const char* path;
  const char* method;
  Route route;
  bool prefix = false;          // path is a prefix: /v1/models/{id}
  const char* label = nullptr;  // a prefix route's endpoint in the metrics
};
constexpr RouteSpec kRoutes[] = {
    {"/", "GET", Route::kPage},
    {"/assets/", "GET", Route::kAsset, true, "/assets/{file}"},  // the page's scripts, styles and fonts
    {"/health", "GET", Route::kHealth},
    {"/metrics", "GET", Route::kMetrics},
    {"/v1/models", "GET", Route::kModels},
    {"/v1/models/", "GET", Route::kModel, true, "/v1/models/{id}"},
    {"/v1/chat/completions", "POST", Route::kChat},
    {"/v1/completions", "POST", Route::kCompletions},
};

const RouteSpec* find_route(const std::string& path) {
  for (const RouteSpec& r : kRoutes)
    if (r.prefix ? path.starts_with(r.path) && path.size() > std::strlen(r.path) : path == r.path) return &r;
  return nullptr;
}

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
    if (head.method != route->method)
      return error_response(
          HttpError(405, fmt::format("{} does not accept {} (use {})", head.path, head.method, route->method), "",
                    "method_not_allowed"),
          {{"Allow", route->method}});
    const bool needs_key =
        head.path.starts_with("/v1/") || (route->route == Route::kMetrics && !options.metrics_public);
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
    const RouteSpec* route = find_route(req.path);  // check() accepted it
    switch (route->route) {
      case Route::kPage:
      case Route::kAsset: {  // no key needed, like the page: the API calls it makes send the key
        const std::optional<WebAsset> asset = web_asset(req.path);
        if (!asset)
          return sink->respond(
              error_response(HttpError(404, fmt::format("no route for {} {}", req.method, req.path), "", "not_found")));
        HttpResponse r{.content_type = std::string(asset->content_type), .body = std::string(asset->body)};
        if (route->route == Route::kAsset) r.headers = {{"Cache-Control", "public, max-age=86400"}};
        return sink->respond(std::move(r));
      }
      case Route::kHealth:
        return sink->respond({.body = R"({"status":"ok"})"});
      case Route::kMetrics:
        return sink->respond(
            {.content_type = "text/plain; version=0.0.4",
             .body = metrics.render(model.engine.stats(), {.connections = int64_t(listener.open_connections()),
                                                           .in_flight = running.load(),
                                                           .capacity = capacity}) +
                     (options.policy ? options.policy->render_prometheus() : "")});
      case Route::kModels:
        return sink->respond({.body = json{{"object", "list"}, {"data", json::array({model_json()})}}.dump()});
      case Route::kModel: {
        const std::string id = req.path.substr(std::strlen("/v1/models/"));
        if (id != options.limits.model_name)
          return sink->respond(error_response(
              HttpError(404, fmt::format("The model '{}' does not exist", id), "model", "model_not_found")));
        return sink->respond({.body = model_json().dump()});
      }
      case Route::kChat:
      case Route::kCompletions:
        return generate(route->route, std::move(req), std::move(sink));
    }
  }

  void log(const HttpRequest& req, int status) override {
    const RouteSpec* route = find_route(req.path);
    metrics.count_request(!route ? "other" : route->prefix ? route->label : req.path, status);
  }

  json model_json() const {
    return {{"id", options.limits.model_name}, {"object", "model"}, {"created", created}, {"owned_by", "whale"}};
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
