// The tokenizer's per-thread scratch buffers do not keep the peak of one huge input: after 200 large encodes on
// 16 threads that stay alive (as HTTP threads do), the heap in use is back near where it started, and the RSS
// stops growing after the first rounds.
#include <gtest/gtest.h>
#include <malloc.h>

#include <barrier>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

constexpr int kThreads = 16, kTexts = 200;
constexpr int kRounds = (kTexts + kThreads - 1) / kThreads;  // 13: each round, each thread encodes one text

// Resident set size of the process, from /proc/self/statm (pages).
int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * int64_t(sysconf(_SC_PAGESIZE));
}

// Bytes the allocator has handed out and not had back (all arenas, mmapped chunks included).
int64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return int64_t(m.uordblks + m.hblkhd);
}

// ~200 KB (150-250 KB) of short words: many pre-tokenizer pieces, so every scratch buffer grows large. The
// words come from a small set, so the BPE cache (bounded anyway) fills in the first round.
std::string large_text(std::mt19937& rng) {
  static const char* const kWords[] = {"hello", "world", "数学",   "日本語", "123456", "ÿþ",  "<|x|>", "!!",
                                       "\n",    "  ",    "ABCdef", "z",      "é",      "-->", "\t"};
  const size_t n = 150'000 + rng() % 100'000;
  std::string s;
  while (s.size() < n) {
    s += ' ';
    s += kWords[rng() % std::size(kWords)];
  }
  return s;
}

TEST(TokenizerScratch, LargeInputsDoNotStayResidentPerThread) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator quarantines freed memory: the heap measured here is glibc's";
#endif
  const Tokenizer tokenizer = Tokenizer::load(std::string(WHALE_FIXTURES_DIR) + "/tokenizer/deepseek-v3");
  std::mt19937 rng(20);
  std::vector<std::string> texts;
  for (int i = 0; i < kTexts; ++i) texts.push_back(large_text(rng));

  std::barrier sync(kThreads + 1);  // the main thread measures while the workers wait between rounds
  std::vector<std::thread> workers;
  for (int w = 0; w < kThreads; ++w) {
    workers.emplace_back([&, w] {
      tokenizer.encode("warm up: every thread_local exists before the baseline");
      sync.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        if (const int i = r * kThreads + w; i < kTexts) {
          EXPECT_FALSE(tokenizer.encode(texts[size_t(i)]).empty());
        }
        sync.arrive_and_wait();
      }
      sync.arrive_and_wait();  // alive (thread_locals and all) until the main thread has measured
    });
  }
  sync.arrive_and_wait();
  const int64_t heap_before = heap_in_use();
  std::vector<int64_t> rss(kRounds);  // after each round, all workers idle
  int64_t heap_after = 0;
  for (int r = 0; r < kRounds; ++r) {
    sync.arrive_and_wait();
    rss[size_t(r)] = rss_bytes();
    heap_after = heap_in_use();
  }
  sync.arrive_and_wait();
  for (std::thread& t : workers) t.join();

  constexpr int64_t kMiB = 1 << 20;
  std::printf(
      "  heap in use: %+.1f MiB after the large encodes (16 idle threads); RSS round 1 / 10 / %d: %.0f / %.0f / "
      "%.0f MiB\n",
      double(heap_after - heap_before) / kMiB, kRounds, double(rss[0]) / kMiB, double(rss[9]) / kMiB,
      double(rss.back()) / kMiB);
  // Kept per thread, the buffers of a 200 KB text are ~3 MB: 45+ MB for 16 threads. Released, a few MB remain
  // (the BPE cache, allocator bookkeeping).
  EXPECT_LT(heap_after - heap_before, 16 * kMiB);
  EXPECT_LT(rss.back() - rss[9], 64 * kMiB);
}

}  // namespace
}  // namespace whale
