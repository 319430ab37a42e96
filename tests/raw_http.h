// HTTP/1.1 over a plain loopback socket, byte by byte as a hostile or careless client would send it: partial headers,
// chunked bodies that never end, pipelined requests, hang-ups. Every read has a deadline.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace whale::testing {

class RawConnection {
 public:
  explicit RawConnection(int port);  // connects to 127.0.0.1:port (ok() tells)
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends all of `data`; false once the server has closed or reset the connection.
  bool send(std::string_view data);
  // Reads until `until` appears (or, without it, what the first read returns), the peer closes, or `timeout`.
  std::string receive(std::chrono::milliseconds timeout, std::string_view until = {});
  // Reads one whole response (status line, headers, body by Content-Length or chunked) within `timeout`.
  struct Response {
    int status = 0;
    std::string head, body;  // body de-chunked
  };
  std::optional<Response> read_response(std::chrono::milliseconds timeout);
  // True when the server has closed its side (a read returns 0 or an error) within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);
  void close();

 private:
  int fd_ = -1;
  std::string pending_;  // received, not yet consumed by read_response
};

// One request on a fresh connection; the whole response, or nullopt on timeout.
std::optional<RawConnection::Response> http_request(int port, const std::string& method, const std::string& path,
                                                    const std::string& body = {}, const std::string& extra_headers = {},
                                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace whale::testing
