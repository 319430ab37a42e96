// whale generate --model DIR (--ids 1,2,3 | --text "prompt") -n N [--temperature T --top-k K --top-p P
//   --min-p M --seed S]. With --ids the new token ids are printed; with --text the prompt is encoded with the
//   model's tokenizer (BOS added when its config asks for it) and the continuation is printed as text.
//   Sampling defaults: the checkpoint's generation_config.json, else greedy.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "engine/generate.h"
#include "engine/model_bundle.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {

void add_generate_command(CLI::App& app) {
  struct Options {
    std::string model, ids, text, tokenizer;
    int64_t n = 32;
    SamplingFlags sampling;
    size_t threads = 0;
    bool mmap = false;
    bool no_eos_stop = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate from a prompt of token ids or text");
  cmd->add_option("--model", opt->model, "checkpoint directory (hub layout) or .gguf file")->required();
  CLI::Option* ids = cmd->add_option("--ids", opt->ids, "prompt token ids, comma separated");
  CLI::Option* text = cmd->add_option("--text", opt->text, "prompt text (encoded with the model's tokenizer)");
  ids->excludes(text);
  cmd->add_option("--tokenizer", opt->tokenizer, "tokenizer directory for --text (default: the model's)");
  CLI::Option* n = cmd->add_option("-n,--max-new-tokens", opt->n,
                                   "tokens to generate (default: generation_config.json max_new_tokens, else this)")
                       ->check(CLI::Range(int64_t(0), int64_t(1) << 24))
                       ->capture_default_str();
  opt->sampling.add(cmd, {});
  cmd->add_flag("--ignore-eos", opt->no_eos_stop, "keep generating after an end-of-sequence token");
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt, n] {
    if (opt->ids.empty() && opt->text.empty()) fail("generate: give the prompt as --ids or --text");
    ThreadPool pool(opt->threads);
    const ModelBundle bundle = ModelBundle::load(
        opt->model, pool,
        {.load = {.mmap = opt->mmap}, .tokenizer = !opt->text.empty(), .tokenizer_path = opt->tokenizer});
    std::vector<int32_t> prompt;
    const Tokenizer* tokenizer = nullptr;
    if (!opt->text.empty()) {
      tokenizer = &bundle.require_tokenizer("generate --text");
      if (tokenizer->add_bos_token() && tokenizer->bos_id() >= 0) prompt.push_back(tokenizer->bos_id());
      const std::vector<int32_t> encoded = tokenizer->encode(opt->text);
      prompt.insert(prompt.end(), encoded.begin(), encoded.end());
    } else {
      prompt = parse_id_list(opt->ids, "--ids");
    }
    GenerateOptions gen{.max_new_tokens = n->count() ? opt->n : bundle.generation.max_new_tokens.value_or(opt->n),
                        .sampling = opt->sampling.resolve(bundle.generation, {}),
                        .adjust = opt->sampling.adjust(bundle.generation),
                        .vocab_limit = bundle.vocab_limit};
    if (!opt->no_eos_stop) gen.stop_ids = bundle.stop_ids;
    GenerateStats stats;
    bool first = true;
    std::optional<StreamingDecoder> decoder;
    // Special tokens such as <think> are printed; the end-of-sequence token that stops generation is not.
    if (tokenizer) decoder.emplace(*tokenizer);
    generate(
        *bundle.model, prompt, gen,
        [&](int32_t id) {
          const bool stop = std::find(gen.stop_ids.begin(), gen.stop_ids.end(), id) != gen.stop_ids.end();
          if (decoder)
            std::printf("%s", stop ? "" : decoder->push(id).c_str());
          else
            std::printf("%s%d", first ? "" : ",", id);
          std::fflush(stdout);
          first = false;
          return true;
        },
        &stats);
    std::printf("%s\n", decoder ? decoder->finish().c_str() : "");
    std::fflush(stdout);
    std::fprintf(stderr, "prompt %lld tokens in %.3f s; %lld new tokens in %.3f s (%.2f tokens/s)\n",
                 (long long)stats.prompt_tokens, stats.prefill_seconds, (long long)stats.new_tokens,
                 stats.prefill_seconds + stats.decode_seconds,
                 stats.new_tokens > 1 ? double(stats.new_tokens - 1) / stats.decode_seconds : 0.0);
  });
}

}  // namespace whale::cli
