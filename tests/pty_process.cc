#include "pty_process.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace whale::testing {

PtyProcess::PtyProcess(const std::vector<std::string>& argv) {
  pid_ = ::forkpty(&fd_, nullptr, nullptr, nullptr);
  if (pid_ == 0) {
    std::vector<char*> c;
    for (const std::string& a : argv) c.push_back(const_cast<char*>(a.c_str()));
    c.push_back(nullptr);
    ::execv(c[0], c.data());
    ::_exit(127);
  }
}

PtyProcess::~PtyProcess() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (fd_ >= 0) ::close(fd_);
}

void PtyProcess::write(const std::string& keys) {
  size_t done = 0;
  while (done < keys.size()) {
    const ssize_t n = ::write(fd_, keys.data() + done, keys.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += size_t(n);
  }
}

void PtyProcess::read_some(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, int(timeout.count())) <= 0) return;
  char buf[4096];
  const ssize_t n = ::read(fd_, buf, sizeof buf);  // EIO once the child has closed the terminal
  if (n > 0) output_.append(buf, size_t(n));
}

bool PtyProcess::wait_for(const std::string& text, std::chrono::milliseconds timeout, size_t from) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (output_.find(text, from) == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    read_some(std::min(left, std::chrono::milliseconds(100)));
  }
  return true;
}

int PtyProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    read_some(std::chrono::milliseconds(20));  // keep the terminal drained so the child never blocks on it
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
  }
  for (int i = 0; i < 5; ++i) read_some(std::chrono::milliseconds(10));
  return exit_code_;
}

}  // namespace whale::testing
