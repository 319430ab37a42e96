// Token files (format validation), `data build` (text, JSONL, chat with loss masks on the DeepSeek-V3
// tokenizer), and the DataLoader (reproducible windows, resume, eval split, failure paths).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "server_test_model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/data_build.h"
#include "train/data_loader.h"
#include "train/sft_mask.h"
#include "train/token_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kDeepSeekDir = fs::path(WHALE_FIXTURES_DIR) / "tokenizer" / "deepseek-v3";
const std::string kUserTag = "<｜User｜>", kAssistantTag = "<｜Assistant｜>";

const Tokenizer& deepseek() {
  static const Tokenizer t = Tokenizer::load(kDeepSeekDir);
  return t;
}

fs::path scratch_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("whale-data-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

template <typename Fn>
void expect_error(Fn&& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected an error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// ---- token files ----

TEST(TokenFile, RoundTripAndCorruption) {
  const fs::path dir = scratch_dir("file");
  TokenData d{.vocab_size = 10, .n_documents = 2, .ids = {1, 2, 9, 0, 3}, .mask = {0, 1, 1, 0, 1}};
  write_token_file(dir / "ok.tok", d);
  const TokenData back = read_token_file(dir / "ok.tok");
  EXPECT_EQ(back.ids, d.ids);
  EXPECT_EQ(back.mask, d.mask);
  EXPECT_EQ(back.vocab_size, 10u);
  EXPECT_EQ(back.n_documents, 2u);

  std::string bytes;
  {
    std::ifstream in(dir / "ok.tok", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(bytes.size(), 40u + 5 * 4 + 5);
  auto corrupt = [&](const std::string& name, std::string content, const std::string& needle) {
    write_file(dir / name, content);
    expect_error([&] { read_token_file(dir / name); }, needle);
  };
  corrupt("truncated.tok", bytes.substr(0, bytes.size() - 1), "truncated");
  corrupt("padded.tok", bytes + "x", "truncated or corrupt");
  corrupt("header.tok", bytes.substr(0, 20), "header");
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  corrupt("magic.tok", bad_magic, "magic");
  std::string bad_id = bytes;
  bad_id[40 + 4] = 10;  // second id := 10 >= vocab size
  corrupt("id.tok", bad_id, "id 10 >= vocab size 10");
  std::string bad_mask = bytes;
  bad_mask[40 + 20] = 2;
  corrupt("mask.tok", bad_mask, "mask value 2");
  std::string bad_version = bytes;
  bad_version[8] = 7;
  corrupt("version.tok", bad_version, "version 7");
  expect_error([&] { read_token_file(dir / "absent.tok"); }, "absent.tok");
  expect_error([&] { write_token_file(dir / "w.tok", TokenData{.vocab_size = 2, .ids = {5}, .mask = {}}); }, "id 5");
  fs::remove_all(dir);
}

// ---- SFT loss masks ----

TEST(SftMask, DeepSeekV3AssistantTokensOnly) {
  const Tokenizer& tok = deepseek();
  const ChatTemplate chat = ChatTemplate::from_tokenizer_config(tok.config(), "deepseek-v3");
  const json messages = json::parse(R"([
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4."},
    {"role": "user", "content": "And 3+3?"},
    {"role": "assistant", "content": "It is 6, of course."}])");
  const SftExample ex = render_sft_example(tok, chat, messages);
  // Independent reference: the V3 template's structure, piece by piece (special tokens split the text).
  const int32_t bos = tok.bos_id(), eos = tok.eos_id();
  const auto enc = [&](const std::string& s) { return tok.encode(s); };
  const std::vector<int32_t> template_a = concat({{bos}, enc("You are terse."), enc(kUserTag), enc("What is 2+2?"),
                                                  enc(kAssistantTag)});
  const std::vector<int32_t> reply_a = concat({enc("4."), {eos}});
  const std::vector<int32_t> template_b = concat({enc(kUserTag), enc("And 3+3?"), enc(kAssistantTag)});
  const std::vector<int32_t> reply_b = concat({enc("It is 6, of course."), {eos}});
  EXPECT_EQ(ex.ids, concat({template_a, reply_a, template_b, reply_b}));
  std::vector<uint8_t> mask;
  for (const auto* part : {&template_a, &reply_a, &template_b, &reply_b})
    mask.insert(mask.end(), part->size(), (part == &reply_a || part == &reply_b) ? 1 : 0);
  EXPECT_EQ(ex.mask, mask);
  EXPECT_EQ(ex.n_assistant_turns, 2);
  EXPECT_EQ(ex.n_skipped_turns, 0);
}

std::string targets_text(const Tokenizer& tok, const SftExample& ex) {
  std::vector<int32_t> targets;
  for (size_t i = 0; i < ex.ids.size(); ++i)
    if (ex.mask[i]) targets.push_back(ex.ids[i]);
  return tok.decode(targets);
}

ChatTemplate r1_distill_template() {
  std::ifstream in(fs::path(__FILE__).parent_path() / "data" / "chat_templates" / "deepseek_r1_distill.jinja");
  const std::string source((std::istreambuf_iterator<char>(in)), {});
  EXPECT_FALSE(source.empty());
  return ChatTemplate::from_string(source, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>");
}

TEST(SftMask, GenerationPromptWithExtraText) {
  // The R1-distill template opens the generation prompt with "<think>\n" and strips the reasoning from
  // assistant turns. The targets are the replies as the model must write them after that prompt: reasoning,
  // "</think>", answer, end of sentence.
  const ChatTemplate chat = r1_distill_template();
  const Tokenizer& tok = deepseek();
  const json messages = json::parse(R"([
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "<think>greet back</think>Hello!"},
    {"role": "user", "content": "Bye"},
    {"role": "assistant", "content": "<think>\n\nok</think>Goodbye!"}])");
  const SftExample ex = render_sft_example(tok, chat, messages);
  EXPECT_EQ(ex.n_assistant_turns, 2);
  EXPECT_EQ(targets_text(tok, ex),
            "greet back</think>Hello!<｜end▁of▁sentence｜>ok</think>Goodbye!<｜end▁of▁sentence｜>");
}

TEST(SftMask, TrainingTextContinuesTheInferencePrompt) {
  // Independent check: the tokens before the first target are exactly what serving feeds the model for the
  // same question (the template's generation prompt, "<think>\n" included).
  const ChatTemplate chat = r1_distill_template();
  // R1's tokenizer makes <think> and </think> added tokens (the server test model's tokenizer does too). The
  // user's text mentions the tags: it is encoded as text, as serving encodes it; the reply's tags are tokens.
  const Tokenizer tok = Tokenizer::load(testing::server_test_model_dir());
  const int32_t think_close = tok.encode("</think>").front();
  ASSERT_EQ(tok.encode("</think>").size(), 1u);
  const json messages = json::parse(R"([{"role": "user", "content": "What is 2+2? Think inside <think> </think> tags."},
    {"role": "assistant", "content": "<think>\n2 plus 2 is 4.\n</think>\n\n<answer>4</answer>"}])");
  const SftExample ex = render_sft_example(tok, chat, messages);
  const std::vector<int32_t> prompt =
      chat.render_for_encoding(tok, json::array({messages[0]}), /*add_generation_prompt=*/true).ids;
  const size_t first_target = size_t(std::find(ex.mask.begin(), ex.mask.end(), 1) - ex.mask.begin());
  ASSERT_LT(first_target, ex.ids.size());
  EXPECT_EQ(std::vector<int32_t>(ex.ids.begin(), ex.ids.begin() + std::ptrdiff_t(first_target)), prompt);
  EXPECT_EQ(targets_text(tok, ex), "2 plus 2 is 4.\n</think>\n\n<answer>4</answer><｜end▁of▁sentence｜>");
  EXPECT_EQ(std::count(ex.ids.begin(), ex.ids.end(), think_close), 1) << "only the reply's </think> is the token";
  // A reply without reasoning follows the finished turn's rendering (the whole reply is the target).
  const json plain = json::parse(R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])");
  EXPECT_EQ(targets_text(tok, render_sft_example(tok, chat, plain)), "Hello!<｜end▁of▁sentence｜>");
}

TEST(SftMask, TemplateRewritingEarlierTurnsSkipsThem) {
  const ChatTemplate chat = ChatTemplate::from_string(
      "{% for m in messages %}{% if m.role == 'assistant' %}{% if loop.last %}<A>{{ m.content }}</A>"
      "{% else %}<A>(earlier)</A>{% endif %}{% else %}<U>{{ m.content }}</U>{% endif %}{% endfor %}"
      "{% if add_generation_prompt %}<A>{% endif %}", "", "");
  const json messages = json::parse(R"([
    {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
    {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Goodbye"}])");
  const SftExample ex = render_sft_example(deepseek(), chat, messages);
  EXPECT_EQ(ex.n_assistant_turns, 1);
  EXPECT_EQ(ex.n_skipped_turns, 1);
  EXPECT_EQ(targets_text(deepseek(), ex), "Goodbye</A>");
}

TEST(SftMask, Failures) {
  const Tokenizer& tok = deepseek();
  const ChatTemplate chat = ChatTemplate::from_tokenizer_config(tok.config(), "deepseek-v3");
  expect_error([&] { render_sft_example(tok, chat, json::parse(R"([{"role":"user","content":"x"}])")); },
               "no assistant turn");
  expect_error([&] { render_sft_example(tok, chat, json::array()); }, "non-empty array");
  expect_error([&] { render_sft_example(tok, chat, json::parse(R"([{"content":"x"}])")); }, "role");
  expect_error([&] { render_sft_example(tok, chat, json::parse(R"([{"role":"assistant","content":null}])")); },
               "string 'content'");
}

// ---- data build ----

TEST(DataBuild, TextAndJsonlDocumentsSeparatedByEos) {
  const Tokenizer& tok = deepseek();
  const fs::path dir = scratch_dir("build");
  write_file(dir / "a.txt", "The quick brown fox.\n\nJumps over the lazy dog.\n");
  write_file(dir / "b.jsonl", "{\"text\": \"first line\"}\n\n{\"text\": \"second 行\"}\n");
  const DataBuildStats stats = build_token_file(tok, {.inputs = {dir / "a.txt", dir / "b.jsonl"}, .out = dir / "d.tok",
                                                      .threads = 2});
  const TokenData d = read_token_file(dir / "d.tok");
  const int32_t bos = tok.bos_id(), eos = tok.eos_id();
  ASSERT_TRUE(tok.add_bos_token());
  const std::vector<int32_t> expected =
      concat({{bos}, tok.encode("The quick brown fox.\n\nJumps over the lazy dog.\n"), {eos}, {bos},
              tok.encode("first line"), {eos}, {bos}, tok.encode("second 行"), {eos}});
  EXPECT_EQ(std::vector<int32_t>(d.ids.begin(), d.ids.end()), expected);
  EXPECT_FALSE(d.has_mask());
  EXPECT_EQ(d.n_documents, 3u);
  EXPECT_EQ(d.vocab_size, uint32_t(tok.vocab_size()));
  EXPECT_EQ(stats.n_tokens, expected.size());
  EXPECT_EQ(stats.n_target_tokens, expected.size());
  fs::remove_all(dir);
}

TEST(DataBuild, ChatJsonlWithMask) {
  const Tokenizer& tok = deepseek();
  const fs::path dir = scratch_dir("chat");
  std::string lines;
  for (int i = 0; i < 50; ++i)  // enough lines to spread over the threads
    lines += json({{"messages", {{{"role", "user"}, {"content", fmt::format("q{}", i)}},
                                 {{"role", "assistant"}, {"content", fmt::format("answer {}", i)}}}}}).dump() + "\n";
  write_file(dir / "chat.jsonl", lines);
  build_token_file(tok, {.inputs = {dir / "chat.jsonl"}, .out = dir / "c.tok", .threads = 2});
  const TokenData d = read_token_file(dir / "c.tok");
  ASSERT_TRUE(d.has_mask());
  EXPECT_EQ(d.n_documents, 50u);
  std::vector<int32_t> expected;
  std::vector<uint8_t> mask;
  for (int i = 0; i < 50; ++i) {
    const auto head = concat({{tok.bos_id()}, tok.encode(kUserTag + fmt::format("q{}", i) + kAssistantTag)});
    const auto reply = concat({tok.encode(fmt::format("answer {}", i)), {tok.eos_id()}});
    expected.insert(expected.end(), head.begin(), head.end());
    expected.insert(expected.end(), reply.begin(), reply.end());
    mask.insert(mask.end(), head.size(), 0);
    mask.insert(mask.end(), reply.size(), 1);
  }
  EXPECT_EQ(std::vector<int32_t>(d.ids.begin(), d.ids.end()), expected);
  EXPECT_EQ(d.mask, mask);
  fs::remove_all(dir);
}

TEST(DataBuild, Failures) {
  const Tokenizer& tok = deepseek();
  const fs::path dir = scratch_dir("fail");
  write_file(dir / "a.txt", "text");
  write_file(dir / "chat.jsonl",
             R"({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})");
  write_file(dir / "bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": 5}\n");
  write_file(dir / "notjson.jsonl", "{\"text\": \"ok\"}\nnot json\n");
  write_file(dir / "odd.jsonl", "{\"title\": \"x\"}\n");
  write_file(dir / "utf8.txt", std::string("bad \xff byte"));
  write_file(dir / "empty.jsonl", "");
  auto build = [&](std::vector<fs::path> inputs, InputFormat format = InputFormat::kAuto) {
    return [&, inputs, format] {
      build_token_file(tok, {.inputs = inputs, .out = dir / "out.tok", .format = format, .threads = 1});
    };
  };
  expect_error(build({dir / "a.txt", dir / "chat.jsonl"}), "cannot be mixed");
  expect_error(build({dir / "bad.jsonl"}), "bad.jsonl:2");
  expect_error(build({dir / "notjson.jsonl"}), "notjson.jsonl:2");
  expect_error(build({dir / "odd.jsonl"}), "cannot tell the format");
  expect_error(build({dir / "utf8.txt"}), "utf8.txt");
  expect_error(build({dir / "empty.jsonl"}), "empty");
  expect_error(build({dir / "missing.txt"}), "missing.txt");
  expect_error(build({dir / "a.txt"}, InputFormat::kChat), "a.txt:1");
  expect_error([&] { parse_input_format("csv"); }, "csv");
  EXPECT_FALSE(fs::exists(dir / "out.tok"));
  fs::remove_all(dir);
}

// ---- DataLoader ----

std::shared_ptr<const TokenData> counting_data(uint32_t n, bool with_mask) {
  auto d = std::make_shared<TokenData>();
  d->vocab_size = n;
  d->n_documents = 1;
  for (uint32_t i = 0; i < n; ++i) d->ids.push_back(i);  // id == position: windows are easy to check
  if (with_mask)
    for (uint32_t i = 0; i < n; ++i) d->mask.push_back(i % 3 == 0);
  return d;
}

TEST(DataLoader, WindowsAreReproducibleAndResumable) {
  const auto data = counting_data(1000, true);
  DataLoader a(data, 16, 4, /*seed=*/42, /*eval_fraction=*/0.1, "mem");
  EXPECT_EQ(a.train_tokens(), 900);
  EXPECT_EQ(a.eval_tokens(), 100);
  std::vector<Batch> run;
  for (int i = 0; i < 10; ++i) run.push_back(a.next());
  std::set<int32_t> starts;
  for (const Batch& b : run) {
    ASSERT_EQ(b.tokens.size(), 4u * 17);
    for (int64_t r = 0; r < 4; ++r) {
      const int32_t start = b.tokens[r * 17];
      starts.insert(start);
      EXPECT_LE(start + 16, 899);  // inside the training split
      for (int64_t t = 0; t < 17; ++t) {
        EXPECT_EQ(b.tokens[r * 17 + t], start + t);
        EXPECT_EQ(b.mask[r * 17 + t], (start + t) % 3 == 0);
      }
    }
  }
  EXPECT_GT(starts.size(), 30u);  // windows are spread out
  // Resume from step 6 with a new loader: the same batches follow.
  DataLoader b(data, 16, 4, 42, 0.1, "mem");
  b.restore(DataLoaderState::from_json(DataLoaderState{42, 6}.to_json()));
  for (int i = 6; i < 10; ++i) EXPECT_EQ(b.next().tokens, run[i].tokens);
  EXPECT_EQ(b.state().step, 10);
  // Another seed gives other batches.
  DataLoader c(data, 16, 4, 43, 0.1, "mem");
  EXPECT_NE(c.next().tokens, run[0].tokens);
  expect_error([&] { c.restore({42, 3}); }, "seed");
}

TEST(DataLoader, EvalSplitAndUnmaskedData) {
  const auto data = counting_data(1000, false);
  DataLoader loader(data, 9, 3, 1, 0.05, "mem");  // 50 held-out tokens: 5 windows of 10
  EXPECT_EQ(loader.eval_windows(), 5);
  const Batch e0 = loader.eval_batch(0), e1 = loader.eval_batch(1);
  EXPECT_EQ(e0.tokens[0], 950);
  EXPECT_EQ(e0.tokens[10], 960);
  EXPECT_EQ(e1.tokens[0], 980);
  EXPECT_EQ(e1.tokens[10], 990);
  EXPECT_EQ(e1.tokens[20], 950);  // wraps around
  for (uint8_t m : e0.mask) EXPECT_EQ(m, 1);
  EXPECT_EQ(loader.eval_batch(3).tokens, loader.eval_batch(3).tokens);
}

TEST(DataLoader, Failures) {
  const auto data = counting_data(100, false);
  expect_error([&] { DataLoader(data, 100, 1, 0, 0.0, "tiny"); }, "shorter than one window");
  expect_error([&] { DataLoader(data, 50, 1, 0, 0.5, "tiny"); }, "training split has 50 tokens");
  expect_error([&] { DataLoader(data, 20, 1, 0, 0.1, "tiny"); }, "eval split");
  expect_error([&] { DataLoader(data, 0, 1, 0, 0.0, "tiny"); }, "seq_len");
  expect_error([&] { DataLoader(data, 8, 0, 0, 0.0, "tiny"); }, "batch");
  expect_error([&] { DataLoader(data, 8, 1, 0, 1.0, "tiny"); }, "eval fraction");
  expect_error([&] { DataLoader(data, 8, 1, 0, 0.0, "tiny").eval_batch(0); }, "no eval split");
  expect_error([&] { DataLoader("/nonexistent/x.tok", 8, 1, 0); }, "x.tok");
  expect_error([&] { DataLoaderState::from_json({{"seed", 5}, {"step", 1}}); }, "seed");
  expect_error([&] { DataLoaderState::from_json({{"seed", "5"}, {"step", -1}}); }, "step");
  const DataLoaderState big{~uint64_t(0), 7};
  EXPECT_EQ(DataLoaderState::from_json(big.to_json()).seed, ~uint64_t(0));
}

}  // namespace
}  // namespace whale
