// A child process on a pseudo-terminal (forkpty): what an interactive user sees, for tests of terminal
// programs (`whale chat`). Writing "\x03" delivers Ctrl-C as the terminal would (SIGINT to the child).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace whale::testing {

class PtyProcess {
 public:
  explicit PtyProcess(const std::vector<std::string>& argv);
  ~PtyProcess();  // kills the child if it still runs
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  void write(const std::string& keys);
  // Reads until the output (from `from` on) contains `text`; true if it did within `timeout`.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout, size_t from = 0);
  // Everything the child wrote to the terminal so far.
  const std::string& output() const { return output_; }
  // Waits for the child to exit; its exit code, or -1 (still running after `timeout`, or killed).
  int wait_exit(std::chrono::milliseconds timeout);

 private:
  void read_some(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
  bool exited_ = false;
  int exit_code_ = -1;
};

}  // namespace whale::testing
