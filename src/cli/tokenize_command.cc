// whale tokenize --tokenizer DIR            JSON lines on stdin → JSON lines on stdout (DIR: tokenizer.json's
// directory, or a GGUF model file or directory, whose vocabulary tokenizes as llama.cpp's does):
//   {"text": ...}                                    → {"ids": [...], "decoded": ...}
//   {"messages": [...], "add_generation_prompt": b}  → {"rendered": ..., "ids": [...]}
//   anything malformed                               → {"error": ...} (the stream goes on; exit code 1 at the end)
// whale tokenize --tokenizer DIR --text "..."  ids, tokens and the decoded text, for humans.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {
namespace {

using nlohmann::json;

// Handles one input line; throws whale::Error (or json errors) for malformed input.
json handle_line(const std::string& line, const Tokenizer& tokenizer, std::optional<ChatTemplate>& chat,
                 const std::string& dir) {
  const json request = json::parse(line);
  if (request.is_object() && request.contains("text")) {
    if (!request["text"].is_string()) fail("field 'text' must be a string");
    const std::vector<int32_t> ids = tokenizer.encode(request["text"].get<std::string>());
    return {{"ids", ids}, {"decoded", tokenizer.decode(ids)}};
  }
  if (request.is_object() && request.contains("messages")) {
    if (!request["messages"].is_array()) fail("field 'messages' must be an array");
    const json& flag = request.contains("add_generation_prompt") ? request["add_generation_prompt"] : json(false);
    if (!flag.is_boolean()) fail("field 'add_generation_prompt' must be a boolean");
    if (!chat) {
      // Errors name tokenizer_config.json, or the GGUF file (or directory) whose metadata holds the template.
      const bool hub = std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json");
      chat = ChatTemplate::from_tokenizer_config(tokenizer.config(), hub ? dir + "/tokenizer_config.json" : dir);
    }
    const std::string rendered = chat->render(request["messages"], flag.get<bool>());
    return {{"rendered", rendered}, {"ids", tokenizer.encode(rendered)}};
  }
  fail("expected {{\"text\": ...}} or {{\"messages\": [...]}}");
}

void run_stream(const Tokenizer& tokenizer, const std::string& dir) {
  std::optional<ChatTemplate> chat;
  size_t n_lines = 0, n_failed = 0;
  for (std::string line; std::getline(std::cin, line);) {
    ++n_lines;
    json reply;
    try {
      reply = handle_line(line, tokenizer, chat, dir);
    } catch (const std::exception& e) {  // whale::Error or a JSON parse/type error: report, keep going
      reply = {{"error", fmt::format("line {}: {}", n_lines, e.what())}};
      ++n_failed;
    }
    std::fputs(reply.dump(-1, ' ', false, json::error_handler_t::replace).c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  if (n_failed > 0) fail("tokenize: {} of {} input lines failed", n_failed, n_lines);
}

void print_for_humans(const Tokenizer& tokenizer, const std::string& text) {
  const std::vector<int32_t> ids = tokenizer.encode(text);
  fmt::print("{} tokens for {} bytes\nids: {}\n", ids.size(), text.size(), json(ids).dump());
  for (int32_t id : ids) fmt::print("  {:>7}  {}\n", id, json(tokenizer.id_to_token(id)).dump());
  fmt::print("decoded: {}\n", json(tokenizer.decode(ids)).dump());
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string dir;
    std::optional<std::string> text;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Encode/decode text and render chats (JSON lines on stdin)");
  cmd->add_option("--tokenizer", opt->dir,
                  "directory with tokenizer.json (+ tokenizer_config.json), or a GGUF model (file or directory)")
      ->required();
  cmd->add_option("--text", opt->text, "tokenize this text and print ids, tokens and decoded text");
  cmd->callback([opt] {
    const Tokenizer tokenizer = Tokenizer::load(opt->dir);
    if (opt->text) print_for_humans(tokenizer, *opt->text);
    else run_stream(tokenizer, opt->dir);
  });
}

}  // namespace whale::cli
