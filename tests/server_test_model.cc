#include "server_test_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/batch_engine.h"
#include "io/safetensors.h"
#include "model/init.h"
#include "server/text_stream.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixtures = WHALE_FIXTURES_DIR;
constexpr int64_t kVocab = 129280;  // DeepSeek-V3's config vocab_size (tokenizer: 128,818 ids)
constexpr int32_t kThinkOpen = 128798, kThinkClose = 128799;

json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) fail("cannot open {}", p.string());
  return json::parse(in);
}

void write_json(const fs::path& p, const json& j) { std::ofstream(p) << j.dump(1); }

void write_tokenizer(const fs::path& dir) {
  const fs::path src = kFixtures / "tokenizer/deepseek-v3";
  json tok = read_json(src / "tokenizer.json");
  for (json& t : tok["added_tokens"]) {
    const int id = t["id"].get<int>();
    if (id == kThinkOpen || id == kThinkClose) {
      t["content"] = id == kThinkOpen ? "<think>" : "</think>";
      t["special"] = false;
    }
  }
  write_json(dir / "tokenizer.json", tok);
  json config = read_json(src / "tokenizer_config.json");
  std::string tmpl = config["chat_template"];
  const std::string gen = "{{'<｜Assistant｜>'}}{% endif %}";
  const size_t at = tmpl.rfind(gen);
  if (at == std::string::npos) fail("unexpected DeepSeek-V3 chat template: no generation prompt");
  tmpl.replace(at, gen.size(), "{{'<｜Assistant｜><think>\\n'}}{% endif %}");
  config["chat_template"] = tmpl;
  write_json(dir / "tokenizer_config.json", config);
}

}  // namespace

std::vector<int32_t> greedy_reply(const fs::path& dir, std::vector<int32_t>* prompt_out) {
  ThreadPool pool(2);
  auto model = Model::load(dir, pool);
  Tokenizer tok = Tokenizer::load(dir);
  ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(tok.config(), "test tokenizer_config.json");
  std::vector<int32_t> prompt =
      tok.encode(tmpl.render(json::array({{{"role", "user"}, {"content", kReasoningChat}}}), true));
  BatchEngine engine(*model, {.n_slots = 1, .vocab_limit = tok.vocab_size()});
  if (prompt_out) *prompt_out = prompt;
  return engine.generate_batch({{.prompt = prompt, .max_new_tokens = kProbeTokens}})[0].tokens;
}

namespace {

void swap_rows(Tensor& t, int64_t a, int64_t b) {
  const size_t row = size_t(t.dim(1)) * dtype_size(t.dtype());
  char* base = static_cast<char*>(t.mutable_raw());
  std::vector<char> tmp(base + size_t(a) * row, base + size_t(a + 1) * row);
  std::memmove(base + size_t(a) * row, base + size_t(b) * row, row);
  std::memcpy(base + size_t(b) * row, tmp.data(), row);
}

}  // namespace

void swap_token_rows(const fs::path& dir, int32_t a, int32_t b) {
  NamedTensors tensors;
  {
    TensorStore store = TensorStore::open(dir);
    for (const std::string& name : store.names()) {
      Tensor t = store.get(name);
      if (name == "model.embed_tokens.weight" || name == "lm_head.weight") {
        Tensor copy = Tensor::zeros(t.dtype(), t.shape());
        std::memcpy(copy.mutable_raw(), t.raw(), t.nbytes());
        swap_rows(copy, a, b);
        t = copy;
      }
      tensors.emplace_back(name, t);
    }
  }
  write_safetensors(dir / "model.safetensors", tensors);
}

namespace {

// Swaps token x with </think> in the embedding and the output head.
void plant_think_close(const fs::path& dir, int32_t x) { swap_token_rows(dir, x, kThinkClose); }

// Reasoning and content of a reply (skipping special tokens), as the server splits them.
server::ReasoningSplitter::Delta split(const fs::path& dir, const std::vector<int32_t>& ids) {
  Tokenizer tok = Tokenizer::load(dir);
  server::ReasoningSplitter splitter(true);
  auto d = splitter.push(tok.decode(ids, /*skip_special_tokens=*/true));
  auto tail = splitter.finish();
  d.reasoning += tail.reasoning;
  d.content += tail.content;
  return d;
}

void build(const fs::path& dir) {
  fs::create_directories(dir);
  json config = read_json(kFixtures / "models/deepseek-v3-tiny/config.json");
  config["vocab_size"] = kVocab;
  ThreadPool pool(2);
  init_checkpoint(config, dir, {.seed = 7}, pool);
  write_tokenizer(dir);
  std::vector<int32_t> prompt;
  std::vector<int32_t> reply = greedy_reply(dir, &prompt);
  for (size_t k = 3; k + 3 < reply.size(); ++k) {
    const int32_t x = reply[k];
    auto seen = [&](const std::vector<int32_t>& v, size_t n) { return std::find(v.begin(), v.begin() + ptrdiff_t(n), x) != v.begin() + ptrdiff_t(n); };
    if (x == kThinkOpen || x == kThinkClose || seen(prompt, prompt.size()) || seen(reply, k)) continue;
    plant_think_close(dir, x);
    std::vector<int32_t> planted = greedy_reply(dir);
    auto d = split(dir, planted);
    if (planted[k] == kThinkClose && !d.reasoning.empty() && !d.content.empty()) return;
    plant_think_close(dir, x);  // undo and try the next step
  }
  fail("could not plant </think> in the greedy reply of the server test model");
}

}  // namespace

fs::path server_test_model_dir() {
  static const fs::path dir = [] {
    const fs::path final_dir = fs::path(WHALE_BINARY).parent_path() / "server_test_model";
    if (fs::exists(final_dir / "model.safetensors")) return final_dir;
    // Build beside it, then rename: concurrent test processes either win the rename or use the winner's.
    const fs::path tmp = final_dir.string() + ".tmp-" + std::to_string(::getpid());
    fs::remove_all(tmp);
    build(tmp);
    std::error_code ec;
    fs::rename(tmp, final_dir, ec);
    if (ec) fs::remove_all(tmp);
    return final_dir;
  }();
  return dir;
}

// Also the entry point of the node tests' setup (whale_tests --gtest_filter=ServerTestModel.*).
TEST(ServerTestModel, BuildsAndRepliesWithReasoningThenContent) {
  const fs::path dir = server_test_model_dir();
  std::vector<int32_t> reply = greedy_reply(dir);
  EXPECT_NE(std::find(reply.begin(), reply.end(), kThinkClose), reply.end());
  auto d = split(dir, reply);
  EXPECT_FALSE(d.reasoning.empty());
  EXPECT_FALSE(d.content.empty());
}

}  // namespace whale::testing
