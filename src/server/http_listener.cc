#include "server/http_listener.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.h"
#include "server/http_error.h"

namespace whale::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpResponse error_response(int status, const std::string& message, const std::string& code) {
  return {.status = status, .body = error_json(message, "invalid_request_error", "", code).dump(), .close = true};
}

// After a refusal the client may still be sending a body: read and drop at most this much before closing, so that the
// refusal is not lost to the reset a close with unread data causes.
constexpr size_t kLingerBytes = 256 * 1024;
constexpr std::chrono::seconds kLingerTime{1};
// While a request runs, pipelined bytes are kept up to this much; beyond it the socket is no longer watched.
constexpr size_t kMaxPipelined = 64 * 1024;

thread_local bool t_io_thread = false;  // set on the listener's I/O threads

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const ListenerOptions& options, HttpHandler& handler,
             std::shared_ptr<std::atomic<size_t>> count)
      : stream_(std::move(socket)), options_(options), handler_(handler), count_(std::move(count)) {}
  ~Connection() { count_->fetch_sub(1); }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_for_request(); });
  }
  // Over the connection limit: answer 503 without reading, then close.
  void refuse() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      HttpResponse r =
          error_response(503, "the server has too many open connections; retry later", "too_many_connections");
      r.headers = {{"Retry-After", "1"}};
      self->send(std::move(r), /*unread_input=*/true);
    });
  }

  // --- ResponseSink operations, from any thread
  // --------------------------------------------------------- From an I/O thread (a handler answering at once) the
  // response is queued; from any other thread the call returns once it is written, so that a request thread that has
  // returned has nothing left in flight.
  void post_response(HttpResponse r) {
    if (t_io_thread) {
      net::post(stream_.get_executor(),
                [self = shared_from_this(), r = std::move(r)]() mutable { self->send(std::move(r), false); });
      return;
    }
    wait([&](std::shared_ptr<std::promise<bool>> done) {
      net::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(r), done]() mutable {
        self->send(std::move(r), false, done);
      });
    });
  }
  bool post_stream_head(const HttpResponse& head) {
    return wait([&](std::shared_ptr<std::promise<bool>> done) {
      net::post(stream_.get_executor(),
                [self = shared_from_this(), head, done] { self->write_stream_head(head, done); });
    });
  }
  bool post_chunk(std::string_view data) {
    auto bytes = std::make_shared<std::string>(data);
    return wait([&](std::shared_ptr<std::promise<bool>> done) {
      net::post(stream_.get_executor(), [self = shared_from_this(), bytes, done] {
        self->stream_.expires_after(self->options_.write_timeout);
        net::async_write(self->stream_, http::make_chunk(net::buffer(*bytes)),
                         [self, bytes, done](beast::error_code ec, size_t) {
                           self->stream_.expires_never();
                           if (ec) self->gone_ = true;
                           done->set_value(!ec);
                         });
      });
    });
  }
  void post_stream_end() {
    wait([&](std::shared_ptr<std::promise<bool>> done) {
      net::post(stream_.get_executor(), [self = shared_from_this(), done] {
        self->stream_.expires_after(self->options_.write_timeout);
        net::async_write(self->stream_, http::make_chunk_last(), [self, done](beast::error_code ec, size_t) {
          self->stream_.expires_never();
          self->handler_.log(self->head_, ec ? 0 : self->stream_status_);
          done->set_value(!ec);
          self->end_response(!ec && self->keep_alive_);
        });
      });
    });
  }
  bool gone() const { return gone_.load(); }
  void post_note(std::string note) {
    net::post(stream_.get_executor(), [self = shared_from_this(), note = std::move(note)]() mutable {
      self->head_.note = std::move(note);  // the strand runs this before the response's last write posted later
    });
  }

 private:
  // Runs `start` (which posts an operation completing `done`) and waits for it, bounded by the write deadline.
  template <typename Start>
  bool wait(Start&& start) {
    auto done = std::make_shared<std::promise<bool>>();
    std::future<bool> result = done->get_future();
    start(done);
    if (result.wait_for(options_.write_timeout + std::chrono::seconds(5)) != std::future_status::ready) return false;
    return result.get();
  }

  void wait_for_request() {
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    stream_.expires_after(options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->buffer_.commit(n);
      if (ec) return self->close();
      self->read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(uint32_t(options_.max_header_bytes));
    parser_->body_limit(options_.max_body_bytes);
    stream_.expires_after(options_.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    head_ = {};
    // A deadline that passes closes the socket (beast::tcp_stream does): nothing can be answered then.
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == beast::error::timeout)
      return close();
    if (ec == http::error::header_limit)
      return send(error_response(431, fmt::format("the request header exceeds {} bytes", options_.max_header_bytes),
                                 "header_too_large"),
                  true);
    if (ec == http::error::body_limit) return send(too_large(), true);  // a Content-Length over the limit
    if (ec)
      return send(error_response(400, fmt::format("malformed HTTP request: {}", ec.message()), "bad_request"), true);
    const auto& msg = parser_->get();
    head_.received = std::chrono::steady_clock::now();
    head_.method = std::string(msg.method_string());
    head_.target = std::string(msg.target());
    head_.path = head_.target.substr(0, head_.target.find('?'));
    for (const auto& f : msg) head_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    beast::error_code ignored;
    head_.remote = stream_.socket().remote_endpoint(ignored).address().to_string();
    keep_alive_ = msg.keep_alive();
    if (std::optional<HttpResponse> refusal = handler_.check(head_)) {
      const bool unread = !parser_->is_done();  // its body is never read
      if (unread) refusal->close = true;
      return send(std::move(*refusal), unread);
    }
    if (!parser_->is_done() && iequals(head_.header("Expect"), "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      stream_.expires_after(options_.write_timeout);
      return http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code e, size_t) {
        if (e) return self->close();
        self->read_body();
      });
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_body({});
    stream_.expires_after(options_.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  HttpResponse too_large() const {
    return error_response(413, fmt::format("request body exceeds the limit of {} bytes", options_.max_body_bytes),
                          "body_too_large");
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) return send(too_large(), true);
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == beast::error::timeout)
      return close();
    if (ec)
      return send(error_response(400, fmt::format("malformed HTTP request body: {}", ec.message()), "bad_request"),
                  true);
    HttpRequest request = head_;
    request.body = std::move(parser_->get().body());
    parser_.reset();
    gone_ = false;
    stream_.expires_never();
    watch();
    handler_.handle(std::move(request), std::make_shared<Sink>(shared_from_this()));
  }

  // While a request runs: a read on the socket tells a hang-up (or keeps pipelined bytes for later).
  void watch() {
    if (watching_ || buffer_.size() > kMaxPipelined) return;
    watching_ = true;
    stream_.socket().async_read_some(buffer_.prepare(4096),
                                     [self = shared_from_this()](beast::error_code ec, size_t n) {
                                       self->watching_ = false;
                                       self->buffer_.commit(n);
                                       if (ec && ec != net::error::operation_aborted) self->gone_ = true;
                                       if (self->response_done_) return self->after_response();
                                       if (!ec) self->watch();
                                     });
  }

  // unread_input: the client may still be sending (a refusal, a malformed request): linger, then close.
  void send(HttpResponse r, bool unread_input, std::shared_ptr<std::promise<bool>> done = nullptr) {
    auto res = std::make_shared<http::response<http::string_body>>(http::status(r.status), 11);
    res->set(http::field::server, "whale");
    res->set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res->set(name, value);
    res->keep_alive(keep_alive_ && !r.close);
    res->body() = std::move(r.body);
    res->prepare_payload();
    stream_.expires_after(options_.write_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, unread_input, done](beast::error_code ec, size_t) {
                        self->stream_.expires_never();
                        self->handler_.log(self->head_, ec ? 0 : res->result_int());
                        if (done) done->set_value(!ec);
                        if (unread_input && !ec) return self->linger_close();
                        self->end_response(!ec && res->keep_alive());
                      });
  }

  void write_stream_head(const HttpResponse& head, std::shared_ptr<std::promise<bool>> done) {
    struct Head {
      http::response<http::empty_body> res;
      http::response_serializer<http::empty_body> serializer{res};
    };
    auto h = std::make_shared<Head>();
    h->res.result(http::status(head.status));
    h->res.version(11);
    h->res.set(http::field::server, "whale");
    h->res.set(http::field::content_type, head.content_type);
    for (const auto& [name, value] : head.headers) h->res.set(name, value);
    h->res.keep_alive(keep_alive_ && !head.close);
    keep_alive_ = h->res.keep_alive();
    h->res.chunked(true);
    stream_status_ = head.status;
    stream_.expires_after(options_.write_timeout);
    http::async_write_header(stream_, h->serializer,
                             [self = shared_from_this(), h, done](beast::error_code ec, size_t) {
                               self->stream_.expires_never();
                               if (ec) self->gone_ = true;
                               done->set_value(!ec);
                             });
  }

  // The last byte of a response is out: on to the next request once the watch has stopped.
  void end_response(bool keep_alive) {
    keep_alive_ = keep_alive;
    response_done_ = true;
    if (watching_) {
      beast::error_code ignored;
      stream_.socket().cancel(ignored);  // the watch ends with operation_aborted and calls after_response
      return;
    }
    after_response();
  }

  void after_response() {
    response_done_ = false;
    if (!keep_alive_ || gone_) return close();
    wait_for_request();
  }

  // Half-closes, then drops what the client still sends (bounded), then closes.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    drain();
  }
  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ >= kLingerBytes) return self->close();
      self->drain();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // A response that ended without its last byte: the client went away (499, as nginx logs it), or the handler returned
  // without answering (500).
  void post_abandon(bool nothing_sent) {
    net::post(stream_.get_executor(), [self = shared_from_this(), nothing_sent] {
      if (nothing_sent && !self->gone_)
        return self->send(error_response(500, "the request ended without a response", "server_error"), false);
      self->handler_.log(self->head_, 499);
      self->close();
    });
  }

  class Sink : public ResponseSink {
   public:
    explicit Sink(std::shared_ptr<Connection> c) : c_(std::move(c)) {}
    ~Sink() override {
      if (state_ != State::kEnded) c_->post_abandon(state_ == State::kNone);
    }
    void respond(HttpResponse r) override {
      state_ = State::kEnded;
      c_->post_response(std::move(r));
    }
    bool begin_stream(const HttpResponse& head) override {
      state_ = State::kStreaming;
      return c_->post_stream_head(head);
    }
    bool write(std::string_view data) override { return data.empty() || c_->post_chunk(data); }
    void end_stream() override {
      state_ = State::kEnded;
      c_->post_stream_end();
    }
    bool client_gone() const override { return c_->gone(); }
    void annotate(std::string note) override { c_->post_note(std::move(note)); }

   private:
    enum class State { kNone, kStreaming, kEnded };
    std::shared_ptr<Connection> c_;
    State state_ = State::kNone;
  };

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const ListenerOptions& options_;
  HttpHandler& handler_;
  std::shared_ptr<std::atomic<size_t>> count_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest head_;  // the current request without its body (for check and log)
  bool keep_alive_ = false;
  // Strand-only state of a running request; gone_ is read by the handler's threads.
  std::atomic<bool> gone_{false};
  bool watching_ = false, response_done_ = false;
  int stream_status_ = 200;
  size_t drained_ = 0;
};

// Lets this process hold as many sockets as the hard limit allows (the default soft limit is often 1024).
size_t raise_open_file_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
  }
  return size_t(r.rlim_cur);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

struct HttpListener::Impl {
  Impl(ListenerOptions o, HttpHandler& h) : options(std::move(o)), handler(h), ioc(std::max(1, options.io_threads)) {}

  void accept(const std::shared_ptr<std::atomic<size_t>>& count) {
    acceptor.async_accept(net::make_strand(ioc), [this, count](beast::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;
      if (ec) {  // e.g. out of file descriptors: try again shortly instead of spinning
        retry.expires_after(std::chrono::milliseconds(50));
        retry.async_wait([this, count](beast::error_code) { accept(count); });
        return;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto c = std::make_shared<Connection>(std::move(socket), options, handler, count);
      if (count->fetch_add(1) >= options.max_connections)
        c->refuse();
      else
        c->start();
      accept(count);
    });
  }

  ListenerOptions options;
  HttpHandler& handler;
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(ioc);  // run() until stop()
  tcp::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer retry{ioc};
};

HttpListener::HttpListener(ListenerOptions options, HttpHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)),
      connections_(std::make_shared<std::atomic<size_t>>(0)) {}

HttpListener::~HttpListener() { stop(); }

int HttpListener::bind() {
  const ListenerOptions& o = impl_->options;
  const size_t fd_limit = raise_open_file_limit();
  if (fd_limit < o.max_connections + 64)  // room for the model files, logs and the refusals
    impl_->options.max_connections = fd_limit > 128 ? fd_limit - 64 : 64;
  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto endpoints = resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) fail("serve: cannot resolve --host {}: {}", o.host, ec.message());
  const tcp::endpoint endpoint = *endpoints.begin();
  tcp::acceptor& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  // SO_REUSEADDR only (restart while old connections linger in TIME_WAIT); never SO_REUSEPORT.
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("serve: cannot listen on {}:{}: {}", o.host, o.port, ec.message());
  return a.local_endpoint().port();
}

void HttpListener::run() {
  impl_->accept(connections_);
  auto serve = [this] {
    t_io_thread = true;
    impl_->ioc.run();
    t_io_thread = false;
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->options.io_threads; ++i) threads.emplace_back(serve);
  serve();
  for (std::thread& t : threads) t.join();
}

void HttpListener::stop_accepting() {
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->retry.cancel();
  });
}

void HttpListener::stop() { impl_->ioc.stop(); }

}  // namespace whale::server
