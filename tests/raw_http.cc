#include "raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace whale::testing {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  return int(
      std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
}

}  // namespace

RawConnection::RawConnection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
  const timeval send_timeout{10, 0};  // a server that neither reads nor closes fails the send, not the test run
  if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
}

RawConnection::~RawConnection() { close(); }

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::send(std::string_view data) {
  while (fd_ >= 0 && !data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return fd_ >= 0;
}

std::string RawConnection::receive(std::chrono::milliseconds timeout, std::string_view until) {
  const auto deadline = Clock::now() + timeout;
  std::string out = std::move(pending_);
  pending_.clear();
  while (fd_ >= 0 && (until.empty() || out.find(until) == std::string::npos)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, size_t(n));
    if (until.empty()) break;  // whatever arrived first
  }
  return out;
}

std::optional<RawConnection::Response> RawConnection::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string data = receive(timeout, "\r\n\r\n");
  const size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos || !data.starts_with("HTTP/1.1 ")) return std::nullopt;
  Response r;
  r.status = std::atoi(data.c_str() + 9);
  r.head = data.substr(0, head_end + 2);
  std::string rest = data.substr(head_end + 4);
  std::string lower = r.head;
  for (char& c : lower) c = char(std::tolower(c));
  auto more = [&](size_t need) {
    while (rest.size() < need && Clock::now() < deadline) {
      std::string got = receive(std::chrono::milliseconds(remaining_ms(deadline)), {});
      if (got.empty()) return false;
      rest += got;
    }
    return rest.size() >= need;
  };
  if (lower.find("transfer-encoding: chunked") != std::string::npos) {
    size_t at = 0;
    for (;;) {
      size_t eol;
      while ((eol = rest.find("\r\n", at)) == std::string::npos)
        if (!more(rest.size() + 1)) return std::nullopt;
      const size_t size = std::stoul(rest.substr(at, eol - at), nullptr, 16);
      if (!more(eol + 2 + size + 2)) return std::nullopt;
      r.body += rest.substr(eol + 2, size);
      at = eol + 2 + size + 2;
      if (size == 0) break;
    }
    pending_ = rest.substr(at);
    return r;
  }
  const size_t cl = lower.find("content-length: ");
  const size_t length = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 16));
  if (!more(length)) return std::nullopt;
  r.body = rest.substr(0, length);
  pending_ = rest.substr(length);
  return r;
}

bool RawConnection::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (fd_ >= 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
    char buf[16384];
    if (::recv(fd_, buf, sizeof buf, 0) <= 0) return true;
  }
  return true;
}

std::optional<RawConnection::Response> http_request(int port, const std::string& method, const std::string& path,
                                                    const std::string& body, const std::string& extra_headers,
                                                    std::chrono::milliseconds timeout) {
  RawConnection c(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (!c.send(req)) return std::nullopt;
  return c.read_response(timeout);
}

}  // namespace whale::testing
