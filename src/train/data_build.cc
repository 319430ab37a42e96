#include "train/data_build.h"


#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/regular_file.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/sft_mask.h"
#include "train/token_file.h"

namespace whale {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr size_t kChunkBytes = size_t(8) << 20;  // documents tokenized in parallel per round
constexpr size_t kChunkDocs = 4096;

// One document to tokenize: its raw text (a whole .txt file or one JSONL line) and where it came from.
struct Unit {
  std::string text;
  std::string where;  // "file" or "file:line"
};

struct Encoded {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;  // chat only
  int skipped_turns = 0;
  std::string error;          // non-empty when the unit failed
};

const char* format_name(InputFormat f) {
  switch (f) {
    case InputFormat::kAuto: return "auto";
    case InputFormat::kText: return "text";
    case InputFormat::kJsonl: return "jsonl";
    case InputFormat::kChat: return "chat";
  }
  return "?";
}

InputFormat detect_format(const fs::path& path) {
  if (path.extension() != ".jsonl") return InputFormat::kText;
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path.string());
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      fail("{}:{}: not JSON: {}", path.string(), line_no, e.what());
    }
    if (j.is_object() && j.contains("messages")) return InputFormat::kChat;
    if (j.is_object() && j.contains("text")) return InputFormat::kJsonl;
    fail("{}:{}: cannot tell the format: expected {{\"text\": ...}} or {{\"messages\": [...]}} (or pass --format)",
         path.string(), line_no);
  }
  fail("{}: no documents (the file is empty)", path.string());
}

class Builder {
 public:
  Builder(const Tokenizer& tokenizer, bool chat, size_t threads) : tokenizer_(tokenizer), pool_(threads) {
    if (tokenizer.eos_id() < 0)
      fail("the tokenizer names no eos_token (tokenizer_config.json): documents cannot be separated");
    if (chat) chat_.emplace(ChatTemplate::from_tokenizer_config(tokenizer.config(), "tokenizer_config.json"));
    out_.vocab_size = uint32_t(tokenizer.vocab_size());
  }

  // Tokenizes units in parallel and appends them in order; the first failure (in input order) throws.
  void add(std::vector<Unit>& units, InputFormat format) {
    std::vector<Encoded> encoded(units.size());
    pool_.parallel_for(units.size(), 1, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        try {
          encoded[i] = encode(units[i].text, format);
        } catch (const std::exception& e) {  // whale::Error or a JSON error: reported with its place below
          encoded[i].error = e.what();
        }
      }
    });
    for (size_t i = 0; i < units.size(); ++i) {
      if (!encoded[i].error.empty()) fail("{}: {}", units[i].where, encoded[i].error);
      append(encoded[i]);
    }
    units.clear();
  }

  TokenData& data() { return out_; }
  DataBuildStats& stats() { return stats_; }

 private:
  Encoded encode(const std::string& text, InputFormat format) const {
    if (format == InputFormat::kText) return encode_document(text);
    const json j = json::parse(text);
    if (format == InputFormat::kJsonl) {
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        fail("expected an object with a string field \"text\"");
      return encode_document(j["text"].get_ref<const std::string&>());
    }
    if (!j.is_object() || !j.contains("messages")) fail("expected an object with a \"messages\" array");
    SftExample ex = render_sft_example(tokenizer_, *chat_, j["messages"]);
    Encoded e;
    e.ids = std::move(ex.ids);
    e.mask = std::move(ex.mask);
    e.skipped_turns = ex.n_skipped_turns;
    if (e.ids.empty() || e.ids.back() != tokenizer_.eos_id()) {
      e.ids.push_back(tokenizer_.eos_id());
      e.mask.push_back(0);
    }
    return e;
  }

  // Empty documents are skipped (no ids).
  Encoded encode_document(const std::string& text) const {
    Encoded e;
    if (text.empty()) return e;
    if (tokenizer_.add_bos_token() && tokenizer_.bos_id() >= 0) e.ids.push_back(tokenizer_.bos_id());
    const std::vector<int32_t> ids = tokenizer_.encode(text);
    e.ids.insert(e.ids.end(), ids.begin(), ids.end());
    e.ids.push_back(tokenizer_.eos_id());
    return e;
  }

  void append(const Encoded& e) {
    if (e.ids.empty()) return;
    out_.ids.insert(out_.ids.end(), e.ids.begin(), e.ids.end());
    out_.mask.insert(out_.mask.end(), e.mask.begin(), e.mask.end());
    ++out_.n_documents;
    stats_.n_skipped_turns += uint64_t(e.skipped_turns);
  }

  const Tokenizer& tokenizer_;
  std::optional<ChatTemplate> chat_;
  ThreadPool pool_;
  TokenData out_;
  DataBuildStats stats_;
};

}  // namespace

InputFormat parse_input_format(const std::string& text) {
  for (InputFormat f : {InputFormat::kAuto, InputFormat::kText, InputFormat::kJsonl, InputFormat::kChat})
    if (text == format_name(f)) return f;
  fail("unknown input format '{}' (expected auto, text, jsonl or chat)", text);
}

DataBuildStats build_token_file(const Tokenizer& tokenizer, const DataBuildOptions& options) {
  const auto start = Clock::now();
  if (options.inputs.empty()) fail("data build: no input files");
  require_replaceable_file(options.out);  // now, not after all the tokenizing
  std::vector<InputFormat> formats;
  uint64_t total_bytes = 0;
  for (const fs::path& input : options.inputs) {
    require_regular_file(input);
    total_bytes += fs::file_size(input);
    formats.push_back(options.format == InputFormat::kAuto ? detect_format(input) : options.format);
    if ((formats.back() == InputFormat::kChat) != (formats.front() == InputFormat::kChat))
      fail("{} is {} data but {} is {}: chat (SFT) and pretraining inputs cannot be mixed in one token file",
           input.string(), format_name(formats.back()), options.inputs.front().string(), format_name(formats.front()));
  }

  Builder builder(tokenizer, formats.front() == InputFormat::kChat, options.threads);
  std::optional<Progress> progress;
  if (options.progress) progress.emplace("data", double(total_bytes), Progress::Unit::kBytes);
  uint64_t bytes_done = 0;
  std::vector<Unit> units;
  size_t pending_bytes = 0;
  auto flush = [&](InputFormat format) {
    builder.add(units, format);
    bytes_done += pending_bytes;
    if (progress) progress->add(double(pending_bytes));
    pending_bytes = 0;
  };
  for (size_t f = 0; f < options.inputs.size(); ++f) {
    const fs::path& input = options.inputs[f];
    if (formats[f] == InputFormat::kText) {
      units.push_back({read_regular_file(input), input.string()});
      pending_bytes += units.back().text.size();
      if (pending_bytes >= kChunkBytes || f + 1 == options.inputs.size() || formats[f + 1] != InputFormat::kText)
        flush(InputFormat::kText);
      continue;
    }
    std::ifstream in(input, std::ios::binary);
    if (!in) fail("{}: cannot open", input.string());
    size_t line_no = 0;
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      pending_bytes += line.size() + 1;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      units.push_back({std::move(line), fmt::format("{}:{}", input.string(), line_no)});
      if (units.size() >= kChunkDocs || pending_bytes >= kChunkBytes) flush(formats[f]);
    }
    flush(formats[f]);
  }
  if (progress) progress->finish();

  TokenData& data = builder.data();
  if (data.n_documents == 0) fail("data build: the inputs hold no documents");
  write_token_file(options.out, data);

  DataBuildStats stats = builder.stats();
  stats.n_documents = data.n_documents;
  stats.n_tokens = data.ids.size();
  stats.n_target_tokens = 0;
  for (uint8_t m : data.mask) stats.n_target_tokens += m;
  if (!data.has_mask()) stats.n_target_tokens = stats.n_tokens;
  stats.bytes_read = bytes_done;
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return stats;
}

}  // namespace whale
