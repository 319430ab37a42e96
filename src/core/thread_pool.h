// One persistent pool of worker threads; the calling thread takes part in every parallel_for.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace whale {

class ThreadPool {
 public:
  // n_threads counts the caller: 1 means no worker threads. 0 picks the number of hardware threads.
  explicit ThreadPool(size_t n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size() + 1; }

  // Splits [0, n) into chunks of at least `grain` items and runs fn(begin, end) on them in parallel.
  // Returns when every chunk is done. Not reentrant: fn must not call parallel_for on this pool.
  void parallel_for(size_t n, size_t grain, const std::function<void(size_t begin, size_t end)>& fn);

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(size_t, size_t)>* job_ = nullptr;
  size_t job_n_ = 0, job_chunk_ = 0;
  std::atomic<size_t> next_chunk_{0};
  size_t n_chunks_ = 0;
  size_t busy_ = 0;
  size_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace whale
