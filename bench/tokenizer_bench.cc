// Encode throughput of the DeepSeek-V3 tokenizer, single thread, on a few MB of generated mixed text:
// English prose (the system's license texts), Chinese sentences and C++-like code.
//   whale_kernel_bench --benchmark_filter=Tokenizer   (tokenizer from $WHALE_TOKENIZER_DIR if set)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

constexpr size_t kCorpusBytes = 4 << 20;

std::string english_text() {
  std::string text;
  const std::filesystem::path dir = "/usr/share/common-licenses";
  if (std::filesystem::is_directory(dir))
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path());
      std::stringstream s;
      s << in.rdbuf();
      text += s.str();
    }
  if (text.empty()) text = "The quick brown fox jumps over the lazy dog. It's 42 degrees today!\n";
  return text;
}

std::string chinese_sentence(std::mt19937& rng) {
  static const char* kPunct[] = {"，", "。", "、", "：", "！", "？"};
  std::string s;
  const int n = 8 + int(rng() % 24);
  for (int i = 0; i < n; ++i) utf8::append_code_point(0x4E00 + rng() % 3000, s);  // frequent CJK block
  return s + kPunct[rng() % 6];
}

std::string code_snippet(std::mt19937& rng) {
  static const char* kNames[] = {"count", "buffer", "n_tok", "d_model", "weights", "index", "value", "x"};
  const std::string a = kNames[rng() % 8], b = kNames[rng() % 8];
  return "for (int " + a + " = 0; " + a + " < " + std::to_string(rng() % 1000) + "; ++" + a + ") {\n    " + b +
         "[" + a + "] += std::max(" + b + "[" + a + " - 1], 0.5f);  // " + a + "\n}\n";
}

std::string mixed_corpus() {
  const std::string english = english_text();
  std::mt19937 rng(7);
  std::string text;
  size_t english_pos = 0;
  while (text.size() < kCorpusBytes) {
    switch (rng() % 3) {
      case 0: {  // a paragraph of English, cut at a line boundary
        size_t end = english.find('\n', english_pos + 400);
        if (end == std::string::npos) end = english.size(), english_pos = 0;
        text.append(english, english_pos, end - english_pos + 1);
        english_pos = end + 1 >= english.size() ? 0 : end + 1;
        break;
      }
      case 1:
        for (int i = 0; i < 6; ++i) text += chinese_sentence(rng);
        text += "\n";
        break;
      default:
        text += code_snippet(rng);
    }
  }
  text.resize(text.size() - utf8::incomplete_tail(text));
  return text;
}

// $WHALE_TOKENIZER_DIR, else the DeepSeek-V3 fixture of the test suite (tests/fixtures).
std::filesystem::path tokenizer_dir() {
  if (const char* dir = std::getenv("WHALE_TOKENIZER_DIR")) return dir;
  return std::filesystem::path(__FILE__).parent_path() / "../tests/fixtures/tokenizer/deepseek-v3";
}

void BM_TokenizerEncodeMixed(benchmark::State& state) {
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_dir());
  const std::string text = mixed_corpus();
  size_t n_tokens = 0;
  for (auto _ : state) {
    const std::vector<int32_t> ids = tokenizer.encode(text);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["MB"] = double(text.size()) / 1e6;
  state.counters["tokens"] = double(n_tokens);
}
BENCHMARK(BM_TokenizerEncodeMixed)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
}  // namespace whale
