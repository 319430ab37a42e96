// whale eval --model DIR --task NAME --n N [--samples K]: held-out accuracy of a model on a reasoning task.
// Samples K completions for each of N held-out problems on the serving engine and prints one JSON object:
// pass@1 (averaged over the K samples), cons@K (majority vote), pass@K, format and reflection rates.
#include <cblas.h>

#include <cstdio>
#include <memory>
#include <ostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "engine/model_bundle.h"
#include "rl/grpo_trainer.h"
#include "rl/rollout.h"

namespace whale::cli {

void add_eval_command(CLI::App& app) {
  struct Options {
    std::string model, tokenizer, task, prompt = "r1-zero", samples_out;
    int64_t n = 100, samples = 1, max_new_tokens = 256, slots = 64;
    float temperature = 0.6f, top_p = 0.95f;
    uint64_t seed = 0;
    int min_difficulty = 1, max_difficulty = 0;
    bool no_prefill_think = false;
    rl::Instruction instruction = rl::Instruction::kUser;
    size_t threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("eval", "Held-out pass@1 / cons@K of a model on a reasoning task");
  cmd->add_option("--model", opt->model, "checkpoint directory (hub layout)")->required();
  cmd->add_option("--tokenizer", opt->tokenizer, "tokenizer directory (default: the model's)");
  cmd->add_option("--task", opt->task, "arithmetic | countdown | linear_equation | word_problem")->required();
  cmd->add_option("--n", opt->n, "held-out problems")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--samples", opt->samples, "completions per problem (K)")->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  cmd->add_option("--temperature", opt->temperature, "sampling temperature (0: greedy)")->check(CLI::Range(0.0f, 100.0f));
  cmd->add_option("--top-p", opt->top_p, "nucleus sampling")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--max-new-tokens", opt->max_new_tokens, "generation budget per completion")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--seed", opt->seed, "seed of the problems and of the sampling");
  cmd->add_option("--min-difficulty", opt->min_difficulty, "lowest difficulty")->check(CLI::Range(1, 100));
  cmd->add_option("--max-difficulty", opt->max_difficulty, "highest difficulty (0: the task's maximum)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--prompt", opt->prompt, "r1-zero or chat")->check(CLI::IsMember({"r1-zero", "chat"}));
  cmd->add_flag("--no-prefill-think", opt->no_prefill_think, "r1-zero: do not end the prompt with <think>");
  add_instruction_option(cmd, opt->instruction);
  cmd->add_option("--slots", opt->slots, "sequences decoded together")->check(CLI::Range(int64_t(1), int64_t(1) << 16));
  cmd->add_option("--samples-out", opt->samples_out, "also write every completion as JSON lines to this file");
  add_threads_option(cmd, opt->threads);
  cmd->callback([opt] {
    if (opt->max_difficulty != 0 && opt->max_difficulty < opt->min_difficulty)
      fail("--max-difficulty {} is below --min-difficulty {}", opt->max_difficulty, opt->min_difficulty);
    if (!opt->samples_out.empty()) require_replaceable_file(opt->samples_out);  // before the rollouts
    const std::unique_ptr<rl::Task> task = rl::make_task(opt->task);
    ThreadPool pool(opt->threads);
    openblas_set_num_threads(int(pool.size()));
    const ModelBundle bundle = ModelBundle::load(opt->model, pool, {.tokenizer_path = opt->tokenizer});
    const Model& model = *bundle.model;
    const Tokenizer& tokenizer = *bundle.tokenizer;
    const rl::PromptEncoder prompts(tokenizer, {.style = rl::parse_prompt_style(opt->prompt, "--prompt"),
                                                .prefill_think = !opt->no_prefill_think,
                                                .instruction = opt->instruction});
    const std::vector<rl::Problem> problems =
        rl::heldout_problems(*task, opt->n, opt->seed, opt->min_difficulty, opt->max_difficulty);
    size_t longest = 1;
    for (const rl::Problem& p : problems) longest = std::max(longest, prompts.encode(p).ids.size());
    BatchEngine engine(*bundle.model,
                       {.n_slots = opt->slots,
                        .ctx = std::min<int64_t>(int64_t(longest) + opt->max_new_tokens, model.config().max_position),
                        .vocab_limit = bundle.vocab_limit});
    const rl::RolloutOptions options{
        .samples = opt->samples, .max_new_tokens = opt->max_new_tokens,
        .sampling = {.temperature = opt->temperature, .top_p = opt->top_p, .seed = opt->seed},
        .progress_label = "eval",
        .stop_ids = bundle.stop_ids};
    const std::vector<rl::Rollout> rollouts = rl::generate_rollouts(engine, prompts, *task, problems, options);
    std::vector<std::vector<std::string>> responses(problems.size());
    for (const rl::Rollout& r : rollouts) responses[size_t(r.problem)].push_back(r.response);
    const rl::EvalMetrics m = rl::evaluate(*task, problems, responses);
    if (!opt->samples_out.empty()) {
      write_file_atomically(opt->samples_out, [&](std::ostream& out) {
        for (const rl::Rollout& r : rollouts) {
          const rl::Problem& p = problems[size_t(r.problem)];
          out << nlohmann::json{{"problem", p.prompt},
                                {"ground_truth", p.ground_truth},
                                {"response", r.response},
                                {"correct", r.reward.verification.verdict == rl::Verdict::kCorrect},
                                {"reward", r.reward.total}}
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << '\n';
        }
      });
    }
    nlohmann::json j = rl::eval_metrics_json(m);
    j["task"] = opt->task;
    j["temperature"] = opt->temperature;
    std::printf("%s\n", j.dump().c_str());
  });
}

}  // namespace whale::cli
