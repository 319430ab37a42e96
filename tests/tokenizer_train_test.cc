#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_files.h"
#include "tokenizer/utf8.h"

namespace whale {
namespace {

using nlohmann::json;

// A small corpus: English-like sentences from a fixed word list, Chinese, numbers, code and chat markup.
std::string generated_corpus(size_t n_lines) {
  static const std::vector<std::string> kWords = {"the", "model", "token", "expert", "attention", "latent",
                                                  "routing", "shared", "gradient", "whale", "deep", "seek"};
  std::mt19937 rng(5);
  std::string text;
  for (size_t i = 0; i < n_lines; ++i) {
    switch (rng() % 4) {
      case 0:
        for (int w = 0; w < 8; ++w) text += (w ? " " : "") + kWords[rng() % kWords.size()];
        text += ".\n";
        break;
      case 1:
        for (int c = 0; c < 10; ++c) utf8::append_code_point(0x4E00 + rng() % 200, text);
        text += "。\n";
        break;
      case 2:
        text += "x[" + std::to_string(rng() % 5000) + "] = f(y, " + std::to_string(rng() % 100) + ");\n";
        break;
      default:
        text += "<｜User｜>what is " + std::to_string(rng() % 50) + "?<｜Assistant｜><think>\nok</think>\n";
    }
  }
  return text;
}

std::filesystem::path temp_dir(const std::string& name) {
  // Unique per process: CTest runs tests in parallel processes.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("whale_tokenizer_train_test_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

// Independent reference BPE: repeatedly merge the lowest-rank adjacent pair (leftmost on ties).
std::vector<std::string> reference_bpe(std::string_view word, const std::map<std::pair<std::string, std::string>, size_t>& rank) {
  std::vector<std::string> s;
  for (char c : word) s.emplace_back(1, c);
  while (s.size() > 1) {
    size_t best = s.size(), best_rank = SIZE_MAX;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const auto it = rank.find({s[i], s[i + 1]});
      if (it != rank.end() && it->second < best_rank) best_rank = it->second, best = i;
    }
    if (best == s.size()) break;
    s[best] += s[best + 1];
    s.erase(s.begin() + long(best) + 1);
  }
  return s;
}

class TrainedTokenizer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    corpus_ = new std::string(generated_corpus(3000));
    ThreadPool pool(2);
    BpeTrainerOptions options;
    options.vocab_size = 600;
    bpe_ = new TrainedBpe(train_bpe({*corpus_}, options, pool));
    dir_ = new std::filesystem::path(temp_dir("small"));
    write_tokenizer_files(*bpe_, *dir_);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete corpus_;
    delete bpe_;
    delete dir_;
  }
  static std::string* corpus_;
  static TrainedBpe* bpe_;
  static std::filesystem::path* dir_;
};
std::string* TrainedTokenizer::corpus_ = nullptr;
TrainedBpe* TrainedTokenizer::bpe_ = nullptr;
std::filesystem::path* TrainedTokenizer::dir_ = nullptr;

TEST_F(TrainedTokenizer, LoadsBackAndRoundTrips) {
  const Tokenizer t = Tokenizer::load(*dir_);
  EXPECT_EQ(t.vocab_size(), 600);
  EXPECT_EQ(bpe_->merges.size(), size_t(600 - 7 - 256));
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_TRUE(t.add_bos_token());
  EXPECT_EQ(t.encode("<｜User｜><think>"), (std::vector<int32_t>{2, 4}));
  EXPECT_TRUE(t.is_special(6));
  EXPECT_EQ(t.id_to_token(6), "<｜pad｜>");
  std::mt19937 rng(3);
  for (size_t start = 0; start < corpus_->size(); start += 997) {
    std::string text = corpus_->substr(start, 300);
    text.resize(text.size() - utf8::incomplete_tail(text));
    while (!text.empty() && (uint8_t(text[0]) & 0xC0) == 0x80) text.erase(0, 1);
    ASSERT_EQ(t.decode(t.encode(text)), text);
  }
  // Trained merges compress the corpus well below one token per byte.
  EXPECT_LT(t.encode(*corpus_).size() * 3, corpus_->size());
}

TEST_F(TrainedTokenizer, EncodingMatchesReferenceMergeOrder) {
  const Tokenizer t = Tokenizer::load(*dir_);
  std::map<std::pair<std::string, std::string>, size_t> rank;
  const size_t n_special = bpe_->special_tokens.size();
  for (size_t r = 0; r < bpe_->merges.size(); ++r)
    rank[{bpe_->tokens[bpe_->merges[r].first - n_special], bpe_->tokens[bpe_->merges[r].second - n_special]}] = r;
  const PreTokenizer pre = PreTokenizer::from_json(deepseek_v3_pre_tokenizer(), "test");
  std::string text = corpus_->substr(0, 20000);
  text.resize(text.size() - utf8::incomplete_tail(text));
  std::vector<std::string_view> words;
  std::deque<std::string> arena;
  pre.split(text, words, arena);
  for (std::string_view word : words) {
    std::vector<int32_t> expected;
    for (const std::string& piece : reference_bpe(word, rank)) {
      const auto it = std::find(bpe_->tokens.begin(), bpe_->tokens.end(), piece);
      ASSERT_NE(it, bpe_->tokens.end());
      expected.push_back(int32_t(n_special + (it - bpe_->tokens.begin())));
    }
    ASSERT_EQ(t.encode(word), expected) << json(std::string(word)).dump();
  }
}

TEST_F(TrainedTokenizer, FirstMergeIsTheMostFrequentPair) {
  // Count adjacent byte pairs over pre-tokens (special tokens removed), independently of the trainer.
  std::string text = *corpus_;
  for (const std::string& s : bpe_->special_tokens)
    for (size_t p; (p = text.find(s)) != std::string::npos;) text.replace(p, s.size(), "\n");
  const PreTokenizer pre = PreTokenizer::from_json(deepseek_v3_pre_tokenizer(), "test");
  std::vector<std::string_view> words;
  std::deque<std::string> arena;
  std::map<std::string, int64_t> pair_count;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    end = end == std::string::npos ? text.size() : end + 1;
    words.clear();
    pre.split(std::string_view(text).substr(begin, end - begin), words, arena);
    for (std::string_view w : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) pair_count[std::string(w.substr(i, 2))]++;
    begin = end;
  }
  int64_t best = 0;
  for (const auto& [pair, n] : pair_count) best = std::max(best, n);
  const size_t n_special = bpe_->special_tokens.size();
  const std::string first = bpe_->tokens[bpe_->merges[0].first - n_special] + bpe_->tokens[bpe_->merges[0].second - n_special];
  EXPECT_EQ(pair_count[first], best) << json(first).dump();
}

TEST_F(TrainedTokenizer, FilesHaveHubFormat) {
  std::ifstream in(*dir_ / "tokenizer.json");
  const json j = json::parse(in);
  std::ifstream fixture(std::string(WHALE_FIXTURES_DIR) + "/tokenizer/deepseek-v3/tokenizer.json");
  const json reference = json::parse(fixture);
  EXPECT_EQ(j["pre_tokenizer"], reference["pre_tokenizer"]);  // the DeepSeek-V3 regexes, as data
  EXPECT_EQ(j["decoder"], reference["decoder"]);
  EXPECT_EQ(j["model"]["type"], "BPE");
  EXPECT_TRUE(j["model"]["merges"][0].is_array());
  EXPECT_EQ(j["added_tokens"].size(), 7u);
  std::ifstream config_in(*dir_ / "tokenizer_config.json");
  const json config = json::parse(config_in);
  EXPECT_EQ(config["tokenizer_class"], "LlamaTokenizerFast");
  EXPECT_EQ(config["bos_token"], "<｜begin▁of▁sentence｜>");
  // The R1-style template: earlier reasoning stripped, generation prompt opens a think block.
  const ChatTemplate chat = ChatTemplate::from_tokenizer_config(config, "trained tokenizer_config.json");
  const json messages = json::array({{{"role", "system"}, {"content", "Be brief."}},
                                     {{"role", "user"}, {"content", "1+1?"}},
                                     {{"role", "assistant"}, {"content", "<think>\nadd</think>\n\n2"}},
                                     {{"role", "user"}, {"content", "2+2?"}}});
  EXPECT_EQ(chat.render(messages, true),
            "<｜begin▁of▁sentence｜>Be brief.<｜User｜>1+1?<｜Assistant｜>\n\n2<｜end▁of▁sentence｜><｜User｜>2+2?"
            "<｜Assistant｜><think>\n");
}

TEST(BpeTrainer, RejectsBadInput) {
  ThreadPool pool(1);
  BpeTrainerOptions options;
  options.vocab_size = 100;
  EXPECT_THROW(train_bpe({"abc"}, options, pool), Error);
  options.vocab_size = 300;
  EXPECT_THROW(train_bpe_files({"/nonexistent/corpus.txt"}, options, pool), Error);
  const auto dir = temp_dir("bad_utf8");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.txt") << "ok\xFF\xFEnot utf8";
  try {
    train_bpe_files({dir / "bad.txt"}, options, pool);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.txt: invalid UTF-8 at byte offset 2"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

// JSONL inputs contribute each line's text (or chat contents); split_digits keeps every digit its own token
// in training and in the written tokenizer.json.
TEST(BpeTrainer, JsonlInputAndSplitDigits) {
  ThreadPool pool(1);
  const auto dir = temp_dir("jsonl");
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / "data.jsonl");
    for (int i = 0; i < 200; ++i)
      out << "{\"text\": \"What is 123 + 456? It is 579.\"}\n"
          << "{\"messages\": [{\"role\": \"user\", \"content\": \"Say 42\"}, {\"role\": \"assistant\", \"content\": \"42\"}]}\n";
  }
  for (const bool split : {false, true}) {
    const TrainedBpe bpe = train_bpe_files({dir / "data.jsonl"}, {.vocab_size = 300, .split_digits = split}, pool);
    write_tokenizer_files(bpe, dir / "tok");
    const Tokenizer t = Tokenizer::load(dir / "tok");
    const std::vector<int32_t> ids = t.encode("123");
    EXPECT_EQ(ids.size(), split ? 3u : 1u) << split;  // "123" is frequent: one merged token unless split
    EXPECT_EQ(t.decode(t.encode("What is 123 + 456?")), "What is 123 + 456?");
    // JSON syntax was not trained on: the quote-colon pair of the raw line never became a token.
    EXPECT_EQ(t.encode("\":").size(), 2u);
  }
  std::ofstream(dir / "bad.jsonl") << "{\"text\": \"ok\"}\n[1, 2]\n";
  try {
    train_bpe_files({dir / "bad.jsonl"}, {.vocab_size = 300}, pool);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2: expected a JSON object"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace whale
