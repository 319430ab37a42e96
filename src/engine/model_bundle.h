// A checkpoint ready to generate from: the weights, its tokenizer and chat template, the ids that end a
// turn and its generation_config.json defaults. One loader, so generate, chat and serve read a checkpoint
// the same way (same stop ids, same defaults).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/generation_config.h"
#include "model/model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace whale {

struct BundleOptions {
  LoadOptions load;
  // Tokenizer files: required (chat, serve, text prompts), or not read (token-id prompts).
  bool tokenizer = true;
  std::filesystem::path tokenizer_path;  // empty: the model's own
};

struct ModelBundle {
  std::filesystem::path path;
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;  // from tokenizer_config.json or the GGUF metadata
  // config.json's eos_token_id, generation_config.json's and the tokenizer's EOS, each once.
  std::vector<int32_t> stop_ids;
  GenerationConfig generation;
  // Sampling ids below this (ids the tokenizer can decode; the model's vocabulary without a tokenizer).
  int64_t vocab_limit = 0;

  static ModelBundle load(const std::filesystem::path& path, ThreadPool& pool, const BundleOptions& options = {});

  // The tokenizer, or an error naming the checkpoint and `what` needs it for.
  const Tokenizer& require_tokenizer(const char* what) const;
  const ChatTemplate& require_chat_template(const char* what) const;
};

}  // namespace whale
