// whale generate --model DIR (--ids 1,2,3 | --text "prompt") -n N [--temperature T --top-k K --top-p P
//   --min-p M --seed S]. With --ids the new token ids are printed; with --text the prompt is encoded with the
//   model's tokenizer (BOS added when its config asks for it) and the continuation is printed as text.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "engine/generate.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {

void add_generate_command(CLI::App& app) {
  struct Options {
    std::string model, ids, text, tokenizer;
    int64_t n = 32;
    SamplingParams sampling;
    size_t threads = 0;
    bool mmap = false;
    bool no_eos_stop = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate from a prompt of token ids or text");
  cmd->add_option("--model", opt->model, "checkpoint directory (hub layout)")->required();
  CLI::Option* ids = cmd->add_option("--ids", opt->ids, "prompt token ids, comma separated");
  CLI::Option* text = cmd->add_option("--text", opt->text, "prompt text (encoded with the model's tokenizer)");
  ids->excludes(text);
  cmd->add_option("--tokenizer", opt->tokenizer, "tokenizer directory for --text (default: the model's)");
  cmd->add_option("-n,--max-new-tokens", opt->n, "tokens to generate")->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  cmd->add_option("--temperature", opt->sampling.temperature, "0 = greedy");
  cmd->add_option("--top-k", opt->sampling.top_k, "keep the K most likely tokens (0 = off)");
  cmd->add_option("--top-p", opt->sampling.top_p, "nucleus sampling mass (1 = off)");
  cmd->add_option("--min-p", opt->sampling.min_p, "drop tokens below min_p × the top probability (0 = off)");
  cmd->add_option("--seed", opt->sampling.seed, "random seed");
  cmd->add_flag("--ignore-eos", opt->no_eos_stop, "keep generating after an end-of-sequence token");
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt] {
    if (opt->ids.empty() && opt->text.empty()) fail("generate: give the prompt as --ids or --text");
    std::optional<Tokenizer> tokenizer;
    std::vector<int32_t> prompt;
    if (!opt->text.empty()) {
      tokenizer = Tokenizer::load(opt->tokenizer.empty() ? opt->model : opt->tokenizer);
      if (tokenizer->add_bos_token() && tokenizer->bos_id() >= 0) prompt.push_back(tokenizer->bos_id());
      const std::vector<int32_t> encoded = tokenizer->encode(opt->text);
      prompt.insert(prompt.end(), encoded.begin(), encoded.end());
    } else {
      prompt = parse_id_list(opt->ids, "--ids");
    }
    opt->sampling.validate();
    ThreadPool pool(opt->threads);
    std::unique_ptr<Model> model = Model::load(opt->model, pool, {.mmap = opt->mmap});
    GenerateOptions gen{.max_new_tokens = opt->n, .sampling = opt->sampling};
    if (!opt->no_eos_stop)
      for (int64_t e : model->config().eos_token_ids) gen.stop_ids.push_back(int32_t(e));
    GenerateStats stats;
    bool first = true;
    std::optional<StreamingDecoder> decoder;
    // Special tokens such as <think> are printed; the end-of-sequence token that stops generation is not.
    if (tokenizer) decoder.emplace(*tokenizer);
    generate(*model, prompt, gen, [&](int32_t id) {
      const bool stop = std::find(gen.stop_ids.begin(), gen.stop_ids.end(), id) != gen.stop_ids.end();
      if (decoder) std::printf("%s", stop ? "" : decoder->push(id).c_str());
      else std::printf("%s%d", first ? "" : ",", id);
      std::fflush(stdout);
      first = false;
      return true;
    }, &stats);
    std::printf("%s\n", decoder ? decoder->finish().c_str() : "");
    std::fflush(stdout);
    std::fprintf(stderr, "prompt %lld tokens in %.3f s; %lld new tokens in %.3f s (%.2f tokens/s)\n",
                 (long long)stats.prompt_tokens, stats.prefill_seconds, (long long)stats.new_tokens,
                 stats.prefill_seconds + stats.decode_seconds,
                 stats.new_tokens > 1 ? double(stats.new_tokens - 1) / stats.decode_seconds : 0.0);
  });
}

}  // namespace whale::cli
