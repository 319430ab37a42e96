#include "train/interrupt.h"

#include <atomic>
#include <csignal>

namespace whale {
namespace {

std::atomic<bool> g_requested{false};

extern "C" void on_signal(int sig) {
  g_requested.store(true);
  std::signal(sig, SIG_DFL);  // a second signal ends the process
}

}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() { return g_requested.load(); }

}  // namespace whale
