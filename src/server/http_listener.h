// The HTTP/1.1 transport of `whale serve`, on Boost.Beast over Boost.Asio (event-driven: an idle or slow connection
// costs a socket and a few KB, never a thread). Every connection runs the same state machine:
//   wait for the first byte (idle deadline) → read the header (header deadline, size limit)
//   → HttpHandler::check (route, key, media type: before any body byte is read; a refusal closes the
//     connection unless there is no body) → 100-continue if asked → read the body (body deadline, size
//     limit enforced while reading, chunked included) → HttpHandler::handle → the response, written whole
//     or streamed with chunked transfer encoding → the next request on the same connection (keep-alive,
//     pipelined requests are answered in order).
// While a request runs, the connection watches its socket, so that a client that hangs up is noticed
// (ResponseSink::client_gone) whether the response streams or not. Above `max_connections` a new connection gets a 503
// and is closed. The listening socket does not set SO_REUSEPORT: a port in use is an error, not a second server sharing
// its traffic.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whale::server {

using Headers = std::vector<std::pair<std::string, std::string>>;

// ASCII case-insensitive equality (header names, media types, host names).
bool iequals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // target without the query
  Headers headers;
  std::string body;
  std::string remote;  // peer address
  std::chrono::steady_clock::time_point received{};  // when its header was read (epoch: never read)
  std::string note;  // for the access log: what the handler attached with ResponseSink::annotate
  // The value of a header (case-insensitive name); empty when absent.
  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  Headers headers;     // extra headers (Retry-After, Allow, ...)
  bool close = false;  // end the connection after this response
};

// One request's response, written from any thread. Either respond() once, or begin_stream(), write()… and end_stream().
// Writes are bounded by the write deadline: a client that stops reading is a client gone.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void respond(HttpResponse response) = 0;
  // Sends the status line and headers of a chunked response; false: the client is gone.
  virtual bool begin_stream(const HttpResponse& head) = 0;
  // Sends one chunk and waits until it is written; false: the client is gone.
  virtual bool write(std::string_view data) = 0;
  virtual void end_stream() = 0;
  // The client closed its side (or the connection failed) while the request ran.
  virtual bool client_gone() const = 0;
  // Attaches a note for HttpHandler::log (token counts), never sent; call it before the response's last write.
  virtual void annotate(std::string note) = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Called with the header only (body empty). A response refuses the request before its body is read.
  virtual std::optional<HttpResponse> check(const HttpRequest& head) = 0;
  // Called on an I/O thread with the whole request: respond at once, or keep the sink and respond later from another
  // thread (the connection waits, watching for a hang-up).
  virtual void handle(HttpRequest request, std::shared_ptr<ResponseSink> sink) = 0;
  // After each response (status as sent; 0 when the connection failed before one was sent), with the request's header
  // and the note its handler attached.
  virtual void log(const HttpRequest& request, int status) = 0;
};

struct ListenerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  size_t max_connections = 1024;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds idle_timeout{30'000};    // keep-alive: until the next request's first byte
  std::chrono::milliseconds header_timeout{10'000};  // first byte → end of the header
  std::chrono::milliseconds body_timeout{30'000};    // end of the header → end of the body
  std::chrono::milliseconds write_timeout{30'000};   // one response write (a whole response or a chunk)
  int io_threads = 2;
};

class HttpListener {
 public:
  HttpListener(ListenerOptions options, HttpHandler& handler);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds host:port and returns the bound port; throws whale::Error naming the address when it cannot.
  int bind();
  // Accepts and serves on the I/O threads until stop(); returns when they have ended.
  void run();
  // Closes the listening socket; connections already open are served on.
  void stop_accepting();
  // Ends run(): every connection is closed.
  void stop();
  size_t open_connections() const { return connections_->load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<std::atomic<size_t>> connections_;
};

}  // namespace whale::server
