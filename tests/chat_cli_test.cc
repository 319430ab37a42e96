// `whale chat` as a user meets it: interactive on a pseudo-terminal (tests/pty_process.h), one-shot with
// a pipe, and its failures. The model is the server test model (tests/server_test_model.h): its greedy reply
// to "Hello" has reasoning, </think>, then an answer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pty_process.h"
#include "run_command.h"
#include "server_test_model.h"
#include "temp_dir.h"

namespace whale::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const std::string kWhale = WHALE_BINARY;
constexpr const char* kPrompt = ">>> ";

// The server test model with a longer context (same weights), so an answer can run long enough to be
// interrupted. Built once per test process.
fs::path long_context_model(const fs::path& dir) {
  const fs::path src = server_test_model_dir();
  fs::create_directories(dir);
  for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(src / f, dir / f, fs::copy_options::overwrite_existing);
  json config = json::parse(std::ifstream(src / "config.json"));
  config["max_position_embeddings"] = 16384;
  std::ofstream(dir / "config.json") << config.dump();
  return dir;
}

std::vector<std::string> chat_argv(const fs::path& model, std::vector<std::string> extra) {
  std::vector<std::string> argv = {kWhale, "chat", "--model", model.string(), "--threads", "1", "--temperature", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

TEST(ChatCli, InteractiveSessionOnATerminal) {
  TempDir tmp;
  PtyProcess chat(chat_argv(server_test_model_dir(), {"-n", "24"}));
  ASSERT_TRUE(chat.wait_for(kPrompt, 60s)) << chat.output();
  EXPECT_NE(chat.output().find("/help"), std::string::npos);

  size_t mark = chat.output().size();
  chat.write(std::string(kReasoningChat) + "\n");
  ASSERT_TRUE(chat.wait_for("tokens/s", 30s, mark)) << chat.output();
  ASSERT_TRUE(chat.wait_for(kPrompt, 10s, mark));
  const std::string turn = chat.output().substr(mark);
  EXPECT_NE(turn.find("\x1b[2m"), std::string::npos) << "reasoning is dimmed: " << turn;
  EXPECT_EQ(turn.find("<think>"), std::string::npos) << "no raw tags on a terminal";

  // Settings, with a typo caught.
  mark = chat.output().size();
  chat.write("/sett temperature 1\n");
  ASSERT_TRUE(chat.wait_for("did you mean /set?", 10s, mark)) << chat.output().substr(mark);
  mark = chat.output().size();
  chat.write("/set temperature hot\n");
  ASSERT_TRUE(chat.wait_for("not a number", 10s, mark));
  mark = chat.output().size();
  chat.write("/set top_k 5\n/set\n");
  ASSERT_TRUE(chat.wait_for("top_k 5", 10s, mark)) << chat.output().substr(mark);

  // Save, reset, load.
  const fs::path saved = tmp.path() / "conversation.json";
  mark = chat.output().size();
  chat.write("/save " + saved.string() + "\n");
  ASSERT_TRUE(chat.wait_for("saved 2 messages", 10s, mark)) << chat.output().substr(mark);
  const json conversation = json::parse(std::ifstream(saved));
  ASSERT_EQ(conversation["messages"].size(), 2u);
  EXPECT_EQ(conversation["messages"][0]["content"], kReasoningChat);
  EXPECT_EQ(conversation["messages"][1]["role"], "assistant");
  EXPECT_FALSE(conversation["messages"][1]["reasoning_content"].get<std::string>().empty());
  EXPECT_FALSE(conversation["messages"][1]["content"].get<std::string>().empty());
  mark = chat.output().size();
  chat.write("/reset\n/load " + saved.string() + "\n");
  ASSERT_TRUE(chat.wait_for("loaded 2 messages", 10s, mark)) << chat.output().substr(mark);
  mark = chat.output().size();
  chat.write("/load " + (tmp.path() / "absent.json").string() + "\n");
  ASSERT_TRUE(chat.wait_for("error:", 10s, mark)) << "a bad file is an error, not an exit";

  // A multi-line message (trailing backslash), answered in the same conversation.
  mark = chat.output().size();
  chat.write("first line \\\nsecond line\n");
  ASSERT_TRUE(chat.wait_for("tokens/s", 30s, mark)) << chat.output().substr(mark);
  ASSERT_TRUE(chat.wait_for(kPrompt, 10s, mark));
  mark = chat.output().size();
  chat.write("/save " + saved.string() + "\n");
  ASSERT_TRUE(chat.wait_for("saved 4 messages", 10s, mark)) << chat.output().substr(mark);
  EXPECT_EQ(json::parse(std::ifstream(saved))["messages"][2]["content"], "first line \nsecond line");

  chat.write("/quit\n");
  EXPECT_EQ(chat.wait_exit(10s), 0) << chat.output();
}

TEST(ChatCli, CtrlCStopsTheAnswerNotTheProgram) {
  TempDir tmp;
  const fs::path model = long_context_model(tmp.path() / "model");
  PtyProcess chat(chat_argv(model, {"-n", "16000", "--ctx", "16384"}));
  ASSERT_TRUE(chat.wait_for(kPrompt, 60s)) << chat.output();
  size_t mark = chat.output().size();
  chat.write(std::string(kReasoningChat) + "\n");
  ASSERT_TRUE(chat.wait_for("\x1b[2m", 30s, mark)) << "the answer started";
  chat.write("\x03");
  ASSERT_TRUE(chat.wait_for("stopped", 30s, mark)) << chat.output().substr(mark);
  ASSERT_TRUE(chat.wait_for(kPrompt, 10s, mark));
  // Ctrl-C at the prompt does not leave either; Ctrl-D does.
  mark = chat.output().size();
  chat.write("\x03");
  ASSERT_TRUE(chat.wait_for("/quit or Ctrl-D", 10s, mark)) << chat.output().substr(mark);
  chat.write("\x04");
  EXPECT_EQ(chat.wait_exit(10s), 0) << chat.output();
}

TEST(ChatCli, OneShotFromArgumentsAndStdin) {
  const std::string base =
      kWhale + " chat --threads 1 --temperature 0 -n 24 --model " + server_test_model_dir().string();
  // Not a terminal: no escape codes; the reasoning is kept in its tags so the output stays parseable.
  const CommandResult args = run_command(base + " " + kReasoningChat + " < /dev/null");
  ASSERT_EQ(args.exit_code, 0) << args.output;
  EXPECT_EQ(args.output.find('\x1b'), std::string::npos);
  const size_t open = args.output.find("<think>\n"), close = args.output.find("\n</think>\n\n");
  ASSERT_NE(open, std::string::npos) << args.output;
  ASSERT_NE(close, std::string::npos) << args.output;
  EXPECT_LT(open, close);
  EXPECT_NE(args.output.find("tokens/s"), std::string::npos);
  // The same question on stdin gives the same greedy answer.
  const CommandResult piped = run_command("echo " + std::string(kReasoningChat) + " | " + base);
  ASSERT_EQ(piped.exit_code, 0) << piped.output;
  EXPECT_EQ(piped.output.substr(0, piped.output.find("\n[")), args.output.substr(0, args.output.find("\n[")));
  const CommandResult hidden = run_command(base + " --hide-reasoning " + kReasoningChat + " < /dev/null");
  ASSERT_EQ(hidden.exit_code, 0) << hidden.output;
  EXPECT_EQ(hidden.output.find("<think>"), std::string::npos);
  EXPECT_NE(args.output.find(hidden.output.substr(0, 12)), std::string::npos) << "the same answer, without reasoning";
}

TEST(ChatCli, Failures) {
  TempDir tmp;
  const std::string model = server_test_model_dir().string();
  const CommandResult empty = run_command(kWhale + " chat --model " + model + " < /dev/null");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.output.find("whale: error: chat: no question"), std::string::npos) << empty.output;
  const CommandResult absent = run_command(kWhale + " chat --model " + (tmp.path() / "none").string() + " hi");
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_NE(absent.output.find("whale: error:"), std::string::npos) << absent.output;
  // A checkpoint without a chat template says so.
  const fs::path plain = tmp.path() / "plain";
  fs::create_directories(plain);
  for (const char* f : {"model.safetensors", "tokenizer.json", "config.json"})
    fs::copy_file(fs::path(model) / f, plain / f);
  std::ofstream(plain / "tokenizer_config.json") << R"({"bos_token": "<｜begin▁of▁sentence｜>"})";
  const CommandResult no_template = run_command(kWhale + " chat --model " + plain.string() + " hi");
  EXPECT_EQ(no_template.exit_code, 1);
  EXPECT_NE(no_template.output.find("chat template"), std::string::npos) << no_template.output;
  // A generation_config.json with a value of the wrong type names the file and the key.
  fs::copy_file(fs::path(model) / "tokenizer_config.json", plain / "tokenizer_config.json",
                fs::copy_options::overwrite_existing);
  std::ofstream(plain / "generation_config.json") << R"({"temperature": "warm"})";
  const CommandResult bad_config = run_command(kWhale + " chat --model " + plain.string() + " hi");
  EXPECT_EQ(bad_config.exit_code, 1);
  EXPECT_NE(bad_config.output.find("generation_config.json: 'temperature' must be a number"), std::string::npos)
      << bad_config.output;
}

}  // namespace
}  // namespace whale::testing
