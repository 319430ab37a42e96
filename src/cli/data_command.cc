// whale data build --tokenizer DIR --input FILES... --out DATA [--format auto|text|jsonl|chat]
//   Tokenizes text / JSONL / chat JSONL into a token file for `whale train` (train/data_build.h).
// whale data info DATA
//   Validates a token file and prints its size, vocabulary and loss-mask coverage.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "train/data_build.h"
#include "train/token_file.h"

namespace whale::cli {

namespace {

void add_build(CLI::App* data) {
  struct Options {
    std::string tokenizer, out, format = "auto";
    std::vector<std::string> inputs;
    size_t threads = 0;
    bool quiet = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = data->add_subcommand("build", "Tokenize text, JSONL or chat JSONL into a token file");
  cmd->add_option("--tokenizer", opt->tokenizer, "directory with tokenizer.json (+ tokenizer_config.json)")->required();
  cmd->add_option("--input", opt->inputs, "input files: .txt (a document per file), .jsonl ({\"text\"} or "
                                          "{\"messages\"} per line)")->required();
  cmd->add_option("--out", opt->out, "token file to write")->required();
  cmd->add_option("--format", opt->format, "auto (by extension and first line), text, jsonl or chat")
      ->check(CLI::IsMember({"auto", "text", "jsonl", "chat"}));
  add_threads_option(cmd, opt->threads);
  cmd->add_flag("--quiet", opt->quiet, "no progress on stderr");
  cmd->callback([opt] {
    const Tokenizer tokenizer = Tokenizer::load(opt->tokenizer);
    DataBuildOptions options;
    options.inputs.assign(opt->inputs.begin(), opt->inputs.end());
    options.out = opt->out;
    options.format = parse_input_format(opt->format);
    options.threads = opt->threads;
    options.progress = !opt->quiet;
    const DataBuildStats s = build_token_file(tokenizer, options);
    std::fprintf(stderr,
                 "wrote %s: %llu documents, %llu tokens (%llu targets), %.1f MB read in %.1f s (%.2f MB/s)\n",
                 opt->out.c_str(), (unsigned long long)s.n_documents, (unsigned long long)s.n_tokens,
                 (unsigned long long)s.n_target_tokens, double(s.bytes_read) / 1e6, s.seconds,
                 s.seconds > 0 ? double(s.bytes_read) / 1e6 / s.seconds : 0.0);
    if (s.n_skipped_turns > 0)
      std::fprintf(stderr, "note: %llu assistant turns are rendered differently inside their full conversation "
                           "(the chat template rewrites earlier turns) and carry no loss\n",
                   (unsigned long long)s.n_skipped_turns);
  });
}

void add_info(CLI::App* data) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = data->add_subcommand("info", "Validate a token file and print what it holds");
  cmd->add_option("file", *path, "token file")->required();
  cmd->callback([path] {
    const TokenData d = read_token_file(*path);
    uint64_t targets = d.ids.size();
    if (d.has_mask()) {
      targets = 0;
      for (uint8_t m : d.mask) targets += m;
    }
    fmt::print("{}: {} tokens, {} documents, vocab size {}, {} ({} target tokens)\n", *path, d.ids.size(),
               d.n_documents, d.vocab_size, d.has_mask() ? "chat/SFT with loss mask" : "pretraining", targets);
  });
}

}  // namespace

void add_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Training data: build and inspect token files");
  data->require_subcommand(1);
  add_build(data);
  add_info(data);
}

}  // namespace whale::cli
