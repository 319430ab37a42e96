#include "server/server.h"

#include <httplib.h>

#include <chrono>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "server/completion_handler.h"
#include "server/metrics.h"
#include "server/web_assets.h"

namespace whale::server {

using nlohmann::json;

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the presented value is compared (against the key, cycled), whatever matches.
  unsigned diff = a.size() != b.size();
  for (size_t i = 0; i < a.size(); ++i) diff |= unsigned(uint8_t(a[i]) ^ uint8_t(b.empty() ? 0 : b[i % b.size()]));
  return diff == 0;
}

struct Server::Impl {
  Impl(ServedModel m, ServerOptions o)
      : model(std::move(m)), options(std::move(o)), handler(model, options, metrics),
        created(std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count()) {}

  void send_error(httplib::Response& res, const HttpError& e) {
    res.status = e.status();
    res.set_content(error_json(e).dump(), "application/json");
  }
  bool authorized(const httplib::Request& req) const {
    if (options.api_key.empty()) return true;
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    return std::string_view(auth).starts_with(kBearer) &&
           constant_time_equal(std::string_view(auth).substr(kBearer.size()), options.api_key);
  }
  // Runs an API route: authentication, then the handler; errors become OpenAI error JSON.
  httplib::Server::Handler api(void (Impl::*route)(const httplib::Request&, httplib::Response&)) {
    return [this, route](const httplib::Request& req, httplib::Response& res) {
      try {
        if (!authorized(req))
          throw HttpError(401, "Incorrect API key provided. Send it as 'Authorization: Bearer <key>'.", "",
                          "invalid_api_key");
        (this->*route)(req, res);
      } catch (const HttpError& e) {
        send_error(res, e);
      } catch (const Error& e) {  // engine admission, tokenizer input
        send_error(res, HttpError(400, e.what()));
      }
    };
  }
  void chat(const httplib::Request& req, httplib::Response& res) { handler.chat(req, res); }
  void completion(const httplib::Request& req, httplib::Response& res) { handler.completion(req, res); }
  void models(const httplib::Request&, httplib::Response& res) {
    json m = {{"id", options.limits.model_name}, {"object", "model"}, {"created", created}, {"owned_by", "whale"}};
    res.set_content(json{{"object", "list"}, {"data", json::array({m})}}.dump(), "application/json");
  }
  void routes();

  ServedModel model;
  ServerOptions options;
  Metrics metrics;
  CompletionHandler handler;
  int64_t created;
  httplib::Server http;
};

void Server::Impl::routes() {
  http.new_task_queue = [n = options.http_threads] { return new httplib::ThreadPool(size_t(n)); };
  http.set_payload_max_length(options.limits.max_body_bytes);
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(web_index_html()), "text/html; charset=utf-8");
  });
  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(model.engine.stats()), "text/plain; version=0.0.4");
  });
  http.Get("/v1/models", api(&Impl::models));
  http.Post("/v1/chat/completions", api(&Impl::chat));
  http.Post("/v1/completions", api(&Impl::completion));
  // Unknown routes, oversized bodies (413 from httplib) and anything else without a body: OpenAI error JSON.
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message = res.status == 404   ? fmt::format("no route for {} {}", req.method, req.path)
                          : res.status == 413 ? fmt::format("request body exceeds the limit of {} bytes",
                                                            options.limits.max_body_bytes)
                                              : fmt::format("HTTP {}", res.status);
    send_error(res, HttpError(res.status, message, "", res.status == 413 ? "body_too_large" : ""));
  });
  http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, HttpError(500, what, "", "", "server_error"));
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    static const std::set<std::string> kKnown{"/", "/health", "/metrics", "/v1/models", "/v1/chat/completions",
                                              "/v1/completions"};
    metrics.count_request(kKnown.count(req.path) ? req.path : "other", res.status);
  });
}

Server::Server(ServedModel model, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(model), std::move(options))) {
  impl_->routes();
}

Server::~Server() { stop(); }

int Server::bind() {
  const ServerOptions& o = impl_->options;
  if (o.port == 0) {
    int port = impl_->http.bind_to_any_port(o.host);
    if (port < 0) fail("serve: cannot bind {} (any port)", o.host);
    return port;
  }
  if (!impl_->http.bind_to_port(o.host, o.port)) fail("serve: cannot bind {}:{} (in use, or not an address here?)", o.host, o.port);
  return o.port;
}

void Server::listen() { impl_->http.listen_after_bind(); }

void Server::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

}  // namespace whale::server
