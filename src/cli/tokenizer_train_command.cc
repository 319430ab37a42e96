// whale tokenizer train --input FILES... --vocab-size N --out DIR [--special-tokens T...] [--min-frequency F]
// Trains a byte-level BPE tokenizer with the DeepSeek-V3 pre-tokenizer and writes tokenizer.json +
// tokenizer_config.json to DIR. Progress goes to stderr.
#include <chrono>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "core/thread_pool.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/tokenizer_files.h"

namespace whale::cli {

void add_tokenizer_command(CLI::App& app) {
  struct Options {
    std::vector<std::string> inputs;
    std::string out;
    BpeTrainerOptions trainer{.progress = true};
    size_t threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("tokenizer", "Tokenizer tools");
  cmd->require_subcommand(1);
  CLI::App* train = cmd->add_subcommand("train", "Train a byte-level BPE tokenizer (DeepSeek-V3 pre-tokenizer)");
  train->add_option("--input", opt->inputs, "UTF-8 text files (.jsonl: each line's \"text\" or chat \"messages\")")->required()->check(CLI::ExistingFile);
  train->add_option("--vocab-size", opt->trainer.vocab_size, "vocabulary size incl. special and byte tokens")
      ->required()
      ->check(CLI::Range(256, 1 << 24));
  train->add_option("--out", opt->out, "output directory")->required();
  train->add_option("--special-tokens", opt->trainer.special_tokens, "special tokens (ids 0.., first = BOS, second = EOS)");
  train->add_flag("--split-digits", opt->trainer.split_digits,
                  "every digit its own token (as Llama/Qwen2; helps arithmetic) instead of runs of up to 3");
  train->add_option("--min-frequency", opt->trainer.min_frequency, "stop when the best pair is rarer than this");
  add_threads_option(train, opt->threads);
  train->callback([opt] {
    // Before the training: the files write_tokenizer_files will replace must be regular files (or absent).
    for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
      require_replaceable_file(std::filesystem::path(opt->out) / file);
    const auto start = std::chrono::steady_clock::now();
    ThreadPool pool(opt->threads);
    std::vector<std::filesystem::path> files(opt->inputs.begin(), opt->inputs.end());
    const TrainedBpe bpe = train_bpe_files(files, opt->trainer, pool);
    write_tokenizer_files(bpe, opt->out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("wrote {}: vocab {} ({} special + 256 bytes + {} merges) in {:.1f} s\n", opt->out,
               bpe.special_tokens.size() + bpe.tokens.size(), bpe.special_tokens.size(), bpe.merges.size(), seconds);
  });
}

}  // namespace whale::cli
