// A real `whale serve` child process on the server test model (tests/server_test_model.h): started on a free loopback
// port, its pid for signals and /proc readings, its output, its exit code.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace whale::testing {

class ServeProcess {
 public:
  // Starts `whale serve --model <test model> --port <port> --threads 1 <args>` and waits until it listens (or exits:
  // then port() is 0 and exit_code() tells why).
  explicit ServeProcess(const std::vector<std::string>& args, int port = 0);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Resident memory of the process now (VmRSS), in KiB.
  long rss_kib() const;
  void signal(int sig) const { ::kill(pid_, sig); }
  // Waits up to `timeout` for the process to exit; its exit code, or -1 (still running or killed by a signal).
  int wait_exit(std::chrono::milliseconds timeout);
  int exit_code() const { return exit_code_; }
  // What the process printed (stdout and stderr) until now.
  std::string output();

 private:
  void read_available(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
  bool exited_ = false;
  std::string output_;
};

}  // namespace whale::testing
