// Per-thread scratch vectors of the tokenizer's hot loops. Keeping a thread_local vector's capacity between
// calls is what makes them cheap; but one that grew for an unusually large input (a 1 MB prompt) would keep
// that memory on every HTTP thread for good, so a call that grew one past kMaxScratchBytes releases it on exit.
#pragma once

#include <cstddef>
#include <vector>

namespace whale {

constexpr size_t kMaxScratchBytes = size_t(64) << 10;

// Scope of one call's use of a thread_local vector: empties it on entry, releases it on exit if it grew past
// the cap.
template <typename T>
class ScratchGuard {
 public:
  explicit ScratchGuard(std::vector<T>& buffer) : buffer_(buffer) { buffer_.clear(); }
  ~ScratchGuard() {
    if (buffer_.capacity() * sizeof(T) > kMaxScratchBytes) std::vector<T>().swap(buffer_);
  }
  ScratchGuard(const ScratchGuard&) = delete;
  ScratchGuard& operator=(const ScratchGuard&) = delete;

 private:
  std::vector<T>& buffer_;
};

}  // namespace whale
