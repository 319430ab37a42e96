#include "train/interrupt.h"

#include <atomic>
#include <csignal>
#include <ctime>

namespace whale {
namespace {

std::atomic<bool> g_requested{false};
std::atomic<long> g_first_signal_s{0};  // CLOCK_MONOTONIC seconds of the first signal

extern "C" void on_signal(int sig) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  if (!g_requested.exchange(true)) {
    g_first_signal_s.store(long(now.tv_sec));
    return;
  }
  if (now.tv_sec - g_first_signal_s.load() < kInterruptGraceSeconds) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() { return g_requested.load(); }

}  // namespace whale
