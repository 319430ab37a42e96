// whale generate --model DIR --ids 1,2,3 -n N [--temperature T --top-k K --top-p P --min-p M --seed S]
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "engine/generate.h"

namespace whale::cli {

void add_generate_command(CLI::App& app) {
  struct Options {
    std::string model, ids;
    int64_t n = 32;
    SamplingParams sampling;
    size_t threads = 0;
    bool mmap = false;
    bool no_eos_stop = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate tokens from a prompt of token ids");
  cmd->add_option("--model", opt->model, "checkpoint directory (hub layout)")->required();
  cmd->add_option("--ids", opt->ids, "prompt token ids, comma separated")->required();
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
    std::vector<int32_t> prompt = parse_id_list(opt->ids, "--ids");
    opt->sampling.validate();
    ThreadPool pool(opt->threads);
    std::unique_ptr<Model> model = Model::load(opt->model, pool, {.mmap = opt->mmap});
    GenerateOptions gen{.max_new_tokens = opt->n, .sampling = opt->sampling};
    if (!opt->no_eos_stop)
      for (int64_t e : model->config().eos_token_ids) gen.stop_ids.push_back(int32_t(e));
    GenerateStats stats;
    bool first = true;
    generate(*model, prompt, gen, [&](int32_t id) {
      std::printf("%s%d", first ? "" : ",", id);
      std::fflush(stdout);
      first = false;
      return true;
    }, &stats);
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "prompt %lld tokens in %.3f s; %lld new tokens in %.3f s (%.2f tokens/s)\n",
                 (long long)stats.prompt_tokens, stats.prefill_seconds, (long long)stats.new_tokens,
                 stats.prefill_seconds + stats.decode_seconds,
                 stats.new_tokens > 1 ? double(stats.new_tokens - 1) / stats.decode_seconds : 0.0);
  });
}

}  // namespace whale::cli
