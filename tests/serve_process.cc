#include "serve_process.h"

#include <fcntl.h>
#include <poll.h>

#include <cstring>
#include <regex>

#include "server_test_model.h"

namespace whale::testing {

ServeProcess::ServeProcess(const std::vector<std::string>& args, int port) {
  std::vector<std::string> argv = {WHALE_BINARY,
                                   "serve",
                                   "--model",
                                   server_test_model_dir().string(),
                                   "--port",
                                   std::to_string(port),
                                   "--threads",
                                   "1",
                                   "--served-model-name",
                                   "tiny-r1"};
  argv.insert(argv.end(), args.begin(), args.end());
  int fds[2];
  if (::pipe(fds) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> c;
    for (std::string& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    ::execv(c[0], c.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_fd_ = fds[0];
  const std::regex listening(R"(on http://[^:]+:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    read_available(std::chrono::milliseconds(50));
    std::smatch m;
    if (std::regex_search(output_, m, listening)) {
      port_ = std::stoi(m[1]);
      return;
    }
    if (wait_exit(std::chrono::milliseconds(0)) != -1 || exited_) return;
  }
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

long ServeProcess::rss_kib() const {
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return -1;
}

void ServeProcess::read_available(std::chrono::milliseconds timeout) {
  for (int wait_ms = int(timeout.count()); out_fd_ >= 0; wait_ms = 0) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, wait_ms) <= 0) return;
    char buf[4096];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return;
    output_.append(buf, size_t(n));
  }
}

int ServeProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    read_available(std::chrono::milliseconds(20));
  }
  return exited_ ? exit_code_ : -1;
}

std::string ServeProcess::output() {
  read_available(std::chrono::milliseconds(0));
  return output_;
}

}  // namespace whale::testing
