// whale perplexity: the library function against a direct computation from forward_full logits (perplexity,
// KL divergence, top-1 agreement, their errors), and the command on the fixture GGUFs, which carry their own
// tokenizer: quantized models against their BF16 reference, and the one-line errors.
#include "engine/perplexity.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "run_command.h"
#include "temp_dir.h"
#include "tokenizer/tokenizer.h"

namespace whale {
namespace {

using nlohmann::json;
using testing::run_command;
using testing::TempDir;

const std::string kWhale = WHALE_BINARY;
const std::string kModels = std::string(WHALE_FIXTURES_DIR) + "/models/";
const std::string kGguf = std::string(WHALE_FIXTURES_DIR) + "/gguf/";

std::vector<int32_t> random_ids(size_t n, int32_t lo, int32_t hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi - 1);
  std::vector<int32_t> ids(n);
  for (int32_t& id : ids) id = dist(rng);
  return ids;
}

// Where the chunks lie, written out per case rather than derived: chunk c is ids[c·step, c·step + ctx) and its
// positions first .. ctx − 1 are scored.
struct Layout {
  int64_t ctx, step, first, n_chunks;
};

// Per-token values straight from forward_full logits with a plain log-softmax (no max shift: the fixtures'
// logits are small).
struct Direct {
  std::vector<double> nll, nll_ref, kl;
  int64_t same_top = 0;
};

std::vector<double> log_softmax(const float* x, int64_t vocab) {
  double z = 0;
  for (int64_t j = 0; j < vocab; ++j) z += std::exp(double(x[j]));
  std::vector<double> lp(static_cast<size_t>(vocab));
  for (int64_t j = 0; j < vocab; ++j) lp[size_t(j)] = double(x[j]) - std::log(z);
  return lp;
}

Direct direct(Model& model, Model* ref, const std::vector<int32_t>& ids, const Layout& l, int32_t bos = -1) {
  const int64_t vocab = model.config().vocab_size;
  Direct d;
  for (int64_t c = 0; c < l.n_chunks; ++c) {
    std::vector<int32_t> chunk(ids.begin() + c * l.step, ids.begin() + c * l.step + l.ctx);
    if (bos >= 0) chunk[0] = bos;
    std::vector<float> logits, ref_logits;  // [ctx, vocab]
    model.forward_full(chunk, 1, l.ctx, {}, logits);
    if (ref) ref->forward_full(chunk, 1, l.ctx, {}, ref_logits);
    for (int64_t t = l.first; t < l.ctx; ++t) {
      const float* x = logits.data() + (t - 1) * vocab;
      const std::vector<double> lp = log_softmax(x, vocab);
      d.nll.push_back(-lp[size_t(chunk[size_t(t)])]);
      if (!ref) continue;
      const float* r = ref_logits.data() + (t - 1) * vocab;
      const std::vector<double> lr = log_softmax(r, vocab);
      d.nll_ref.push_back(-lr[size_t(chunk[size_t(t)])]);
      double kl = 0;
      for (int64_t j = 0; j < vocab; ++j) kl += std::exp(lr[size_t(j)]) * (lr[size_t(j)] - lp[size_t(j)]);
      d.kl.push_back(kl);
      d.same_top += std::max_element(x, x + vocab) - x == std::max_element(r, r + vocab) - r;
    }
  }
  return d;
}

// Mean and standard error sqrt(var / (N − 1)), var the population variance (two passes).
Estimate mean_of(const std::vector<double>& v) {
  double m = 0, var = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  for (double x : v) var += (x - m) * (x - m);
  var /= double(v.size());
  return {m, std::sqrt(var / double(v.size() - 1))};
}

void expect_close(double got, double want, const char* what) {
  EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::fabs(want))) << what;
}

void expect_close(const Estimate& got, const Estimate& want, const char* what) {
  expect_close(got.value, want.value, what);
  expect_close(got.error, want.error, what);
}

void expect_matches_direct(const PerplexityStats& got, const Direct& d) {
  ASSERT_EQ(got.tokens, int64_t(d.nll.size()));
  const Estimate nll = mean_of(d.nll);
  expect_close(got.perplexity, {std::exp(nll.value), std::exp(nll.value) * nll.error}, "perplexity");
  if (d.kl.empty()) return;
  const Estimate nll_ref = mean_of(d.nll_ref);
  expect_close(got.ref_perplexity, {std::exp(nll_ref.value), std::exp(nll_ref.value) * nll_ref.error}, "ref ppl");
  std::vector<double> diff(d.nll.size());
  for (size_t i = 0; i < diff.size(); ++i) diff[i] = d.nll[i] - d.nll_ref[i];
  const Estimate log_ratio = mean_of(diff);
  expect_close(got.ppl_ratio_minus_1, {std::exp(log_ratio.value) - 1, std::exp(log_ratio.value) * log_ratio.error},
               "ppl ratio");
  expect_close(got.kl, mean_of(d.kl), "kl");
  std::vector<double> sorted = d.kl;
  std::sort(sorted.begin(), sorted.end());
  expect_close(got.kl_max, sorted.back(), "kl max");
  const double at = 0.99 * double(sorted.size() - 1);
  const size_t i = size_t(at);
  expect_close(got.kl_p99, sorted[i] + (at - double(i)) * (sorted[i + 1] - sorted[i]), "kl p99");
  const double p = double(d.same_top) / double(d.nll.size());
  expect_close(got.same_top_p, {p, std::sqrt(p * (1 - p) / double(d.nll.size() - 1))}, "same top p");
}

TEST(PerplexityLibrary, MatchesDirectComputationFromLogits) {
  ThreadPool pool(2);
  std::unique_ptr<Model> model = Model::load(kModels + "qwen2-r1-distill-tiny", pool);
  const std::vector<int32_t> ids = random_ids(100, 0, 320, 1);
  struct Case {
    PerplexityOptions options;
    Layout layout;
  };
  const Case cases[] = {
      // llama-perplexity chunks: 100 / 16 = 6 chunks, tokens 9 .. 15 of each scored.
      {{.ctx = 16}, {16, 16, 9, 6}},
      // Windows every 5 tokens: (100 − 16) / 5 + 1 = 17, the last 5 of each scored (ids 11 .. 95 once each).
      {{.ctx = 16, .stride = 5}, {16, 5, 11, 17}},
      // Odd ctx; at most 3 chunks; BOS replaces each chunk's first token.
      {{.ctx = 17, .max_chunks = 3, .bos_id = 0}, {17, 17, 9, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "ctx " << c.options.ctx << " stride " << c.options.stride);
    std::vector<PerplexityStats> progress;
    const PerplexityStats got =
        perplexity(*model, nullptr, ids, c.options, [&](const PerplexityStats& s) { progress.push_back(s); });
    EXPECT_EQ(got.chunks, c.layout.n_chunks);
    EXPECT_EQ(got.total_chunks, c.layout.n_chunks);
    EXPECT_EQ(got.tokens, c.layout.n_chunks * (c.layout.ctx - c.layout.first));
    EXPECT_FALSE(got.has_reference);
    expect_matches_direct(got, direct(*model, nullptr, ids, c.layout, c.options.bos_id));
    ASSERT_EQ(int64_t(progress.size()), c.layout.n_chunks);
    for (size_t i = 0; i < progress.size(); ++i) EXPECT_EQ(progress[i].chunks, int64_t(i) + 1);
    EXPECT_EQ(progress.back().perplexity.value, got.perplexity.value);
  }
}

TEST(PerplexityLibrary, DefaultContextIsTheModelsWhenBelow512) {
  ThreadPool pool(2);
  std::unique_ptr<Model> model = Model::load(kModels + "qwen2-r1-distill-tiny", pool);  // context 256
  const PerplexityStats got = perplexity(*model, nullptr, random_ids(600, 0, 320, 2), {.max_chunks = 1});
  EXPECT_EQ(got.ctx, 256);
  EXPECT_EQ(got.total_chunks, 1);
  EXPECT_EQ(got.tokens, 256 - 128 - 1);
}

TEST(PerplexityLibrary, KlOfAModelAgainstItselfIsZero) {
  ThreadPool pool(2);
  std::unique_ptr<Model> model = Model::load(kModels + "deepseek-v3-tiny", pool);
  const PerplexityStats got = perplexity(*model, model.get(), random_ids(96, 0, 320, 3), {.ctx = 32});
  ASSERT_TRUE(got.has_reference);
  EXPECT_EQ(got.kl.value, 0.0);
  EXPECT_EQ(got.kl_max, 0.0);
  EXPECT_EQ(got.kl_p99, 0.0);
  EXPECT_EQ(got.same_top_p.value, 1.0);
  EXPECT_EQ(got.ppl_ratio_minus_1.value, 0.0);
  EXPECT_EQ(got.ref_perplexity.value, got.perplexity.value);
}

TEST(PerplexityLibrary, KlMatchesDirectComputationOnQuantizedGguf) {
  ThreadPool pool(2);
  std::unique_ptr<Model> model = Model::load(kGguf + "qwen2/Q4_K_M/qwen2-Q4_K_M.gguf", pool);
  std::unique_ptr<Model> ref = Model::load(kGguf + "qwen2/BF16/qwen2-BF16.gguf", pool);
  const std::vector<int32_t> ids = random_ids(200, 7, 1024, 4);
  const PerplexityStats got = perplexity(*model, ref.get(), ids, {.ctx = 64, .bos_id = 0});
  expect_matches_direct(got, direct(*model, ref.get(), ids, {64, 64, 33, 3}, 0));
  EXPECT_GT(got.kl.value, 0.0);
  EXPECT_LT(got.same_top_p.value, 1.0);
}

// English-like text from a small word list: enough tokens for several chunks of 64.
std::string english_text(int sentences) {
  static const char* const kWords[] = {
      "the", "river", "quietly", "carried", "old", "boats", "past", "a", "town", "where", "people", "sang",
      "songs", "about", "winter", "and", "bread", "while", "children", "counted", "stars", "over", "hills",
      "of", "green", "grass", "every", "morning", "before", "school", "began", "with", "bells", "ringing"};
  std::mt19937 rng(5);
  std::uniform_int_distribution<size_t> word(0, std::size(kWords) - 1), length(6, 12);
  std::string text;
  for (int s = 0; s < sentences; ++s) {
    std::string sentence;
    for (size_t w = 0, n = length(rng); w < n; ++w) sentence += std::string(w ? " " : "") + kWords[word(rng)];
    sentence[0] = char(std::toupper(sentence[0]));
    text += sentence + (s % 5 == 4 ? ".\n" : ". ");
  }
  return text;
}

void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(PerplexityCli, QuantizedGgufsAgainstBf16Reference) {
  TempDir dir("whale-perplexity");
  const auto text = dir.path() / "text.txt", progress = dir.path() / "progress.jsonl";
  write_file(text, english_text(120));
  const std::string bf16 = kGguf + "qwen2/BF16/qwen2-BF16.gguf";
  auto run = [&](const std::string& type) {
    const auto r = run_command(kWhale + " perplexity --model " + kGguf + "qwen2/" + type + "/qwen2-" + type +
                               ".gguf --kl-reference " + bf16 + " --input " + text.string() +
                               " --ctx 64 --threads 2 2>" + progress.string());
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output);
  };
  const json q8 = run("Q8_0"), q4 = run("Q4_K_M");
  for (const json& j : {q8, q4}) {
    EXPECT_GE(j["chunks"].get<int64_t>(), 4) << j;
    EXPECT_EQ(j["tokens"].get<int64_t>(), j["chunks"].get<int64_t>() * 31) << j;
    EXPECT_GT(j["kl_divergence"].get<double>(), 0.0) << j;
    EXPECT_GT(j["kl_max"].get<double>(), j["kl_divergence"].get<double>()) << j;
    EXPECT_TRUE(std::isfinite(j["ppl_ratio_minus_1"].get<double>())) << j;
    EXPECT_TRUE(std::isfinite(j["perplexity"].get<double>())) << j;
    EXPECT_GT(j["ppl_stderr"].get<double>(), 0.0) << j;
    EXPECT_GT(j["same_top_p"].get<double>(), 0.5) << j;
    EXPECT_LE(j["same_top_p"].get<double>(), 1.0) << j;
  }
  EXPECT_GT(q4["kl_divergence"].get<double>(), q8["kl_divergence"].get<double>());
  EXPECT_LE(q4["same_top_p"].get<double>(), q8["same_top_p"].get<double>());

  // One progress line per chunk on stderr (of the last run), the last one equal to the summary.
  std::ifstream in(progress);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(int64_t(lines.size()), q4["chunks"].get<int64_t>());
  EXPECT_EQ(lines.back()["chunk"], q4["chunks"]);
  EXPECT_EQ(lines.back()["perplexity"], q4["perplexity"]);

  // The command tokenizes as llama-perplexity: BOS (this vocabulary adds it), then the text.
  ThreadPool pool(2);
  std::unique_ptr<Model> model = Model::load(bf16, pool);
  const Tokenizer tokenizer = Tokenizer::load(bf16);
  std::vector<int32_t> ids = tokenizer.encode(english_text(120));
  const int32_t bos = tokenizer.add_bos_token() ? tokenizer.bos_id() : -1;
  if (bos >= 0) ids.insert(ids.begin(), bos);
  const PerplexityStats want = perplexity(*model, nullptr, ids, {.ctx = 64, .bos_id = bos});
  const auto r =
      run_command(kWhale + " perplexity --model " + bf16 + " --input " + text.string() + " --ctx 64 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json got = json::parse(r.output);
  EXPECT_EQ(got["tokens"].get<int64_t>(), want.tokens);
  EXPECT_NEAR(got["perplexity"].get<double>(), want.perplexity.value, 1e-9 * want.perplexity.value);
  EXPECT_FALSE(got.contains("kl_divergence"));
}

TEST(PerplexityCli, BadInputsGiveOneLineErrors) {
  TempDir dir("whale-perplexity");
  const std::string model = kGguf + "qwen2/Q8_0/qwen2-Q8_0.gguf";
  const auto text = dir.path() / "text.txt", empty = dir.path() / "empty.txt", short_text = dir.path() / "short.txt",
             binary = dir.path() / "binary.txt";
  write_file(text, english_text(120));
  write_file(empty, "");
  write_file(short_text, "Too short to score.");
  write_file(binary, "valid start \xff\xfe then junk");
  auto expect_error = [&](const std::string& args, const std::string& needle) {
    SCOPED_TRACE(args);
    const auto r = run_command(kWhale + " perplexity --model " + model + " " + args);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(r.output.rfind("whale: error: ", 0), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  };
  expect_error("--input " + (dir.path() / "missing.txt").string(), "missing.txt: cannot open");
  expect_error("--input " + empty.string(), "empty.txt: the text file is empty");
  expect_error("--input " + binary.string(), "binary.txt: invalid UTF-8 at byte offset 12");
  expect_error("--input " + short_text.string(), "2 chunks of --ctx 256 need at least 512 tokens");
  expect_error("--input " + text.string() + " --ctx 300", "--ctx 300 exceeds the model's context of 256");
  expect_error("--input " + text.string() + " --ctx 1", "--ctx 1 is too small");
  expect_error("--input " + text.string() + " --ctx 64 --stride 64", "--stride 64 must be in [1, 63]");
  expect_error("--input " + text.string() + " --kl-reference " + kModels + "qwen2-r1-distill-tiny",
               "the reference model has 320 vocabulary ids and the model 1024");
}

}  // namespace
}  // namespace whale
