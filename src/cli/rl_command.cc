// whale rl: reinforcement learning with verifiable rewards.
//   whale rl --config FILE.toml [--resume] [--quiet]           GRPO training (rl/grpo_trainer.h)
//   whale rl cold-start --task NAME --n N --seed S --out FILE.jsonl [--format chat|text]
//       [--min-difficulty D --max-difficulty D --split train|heldout --instruction user|system|none --prefill-think]
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "train/interrupt.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "rl/cold_start.h"
#include "rl/grpo_trainer.h"

namespace whale::cli {
namespace {

void add_cold_start_command(CLI::App& rl) {
  struct Options {
    rl::ColdStartOptions gen;
    std::string format = "chat", split = "train", out;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = rl.add_subcommand("cold-start", "Write cold-start SFT data: problems with worked <think> solutions");
  cmd->add_option("--task", opt->gen.task, "arithmetic | countdown | linear_equation | word_problem | all")->required();
  cmd->add_option("--n", opt->gen.n, "number of examples")->required()->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_option("--seed", opt->gen.seed, "random seed (same seed, same file)");
  cmd->add_option("--out", opt->out, "output JSONL file ('-' for stdout)")->required();
  cmd->add_option("--format", opt->format, "chat: {\"messages\": [...]}; text: R1-Zero prompt + completion")
      ->check(CLI::IsMember({"chat", "text"}));
  cmd->add_option("--min-difficulty", opt->gen.min_difficulty, "lowest difficulty level")->check(CLI::Range(1, 100));
  cmd->add_option("--max-difficulty", opt->gen.max_difficulty, "highest difficulty level (0: the task's maximum)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--split", opt->split, "train or heldout")->check(CLI::IsMember({"train", "heldout"}));
  add_instruction_option(cmd, opt->gen.instruction);
  cmd->add_flag("--prefill-think", opt->gen.prompt.prefill_think, "text: end the prompt with <think>");
  cmd->callback([opt] {
    opt->gen.format = rl::parse_cold_start_format(opt->format);
    opt->gen.split = rl::parse_split(opt->split);
    if (opt->out == "-") {
      rl::write_cold_start(opt->gen, std::cout);
      std::cout.flush();
      return;
    }
    // Atomically: a failed run never leaves a half-written file behind.
    write_file_atomically(opt->out, [&](std::ostream& file) { rl::write_cold_start(opt->gen, file); });
    std::fprintf(stderr, "wrote %lld %s examples of task '%s' to %s\n", (long long)opt->gen.n, opt->format.c_str(),
                 opt->gen.task.c_str(), opt->out.c_str());
  });
}

}  // namespace

void add_rl_command(CLI::App& app) {
  struct Options {
    std::string config;
    bool resume = false, quiet = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* rl = app.add_subcommand("rl", "Reinforcement learning: GRPO training (--config) and cold-start data");
  rl->add_option("--config", opt->config, "GRPO config (.toml)");
  rl->add_flag("--resume", opt->resume, "continue from the latest checkpoint in [train] out");
  rl->add_flag("--quiet", opt->quiet, "no progress lines");
  rl->require_subcommand(0, 1);
  add_cold_start_command(*rl);
  rl->callback([rl, opt] {
    if (!rl->get_subcommands().empty()) {
      if (!opt->config.empty()) fail("whale rl: --config trains; it cannot be combined with a subcommand");
      return;
    }
    if (opt->config.empty()) fail("whale rl: give --config FILE.toml to train, or a subcommand (cold-start)");
    install_interrupt_handler();  // before anything slow: a Ctrl-C while loading still ends with a checkpoint
    const rl::GrpoConfig config = rl::load_grpo_config(opt->config);
    const rl::GrpoSummary s = rl::run_grpo(config, {.resume = opt->resume, .progress = !opt->quiet});
    nlohmann::json out = {{"steps", s.steps_done},         {"first_step", s.first_step},
                          {"first_reward", s.first_reward}, {"last_reward", s.last_reward},
                          {"seconds", s.seconds},           {"checkpoint", s.checkpoint.string()},
                          {"interrupted", s.interrupted}};
    if (s.eval_before) out["eval_before"] = rl::eval_metrics_json(*s.eval_before);
    if (s.eval_after) out["eval_after"] = rl::eval_metrics_json(*s.eval_after);
    std::printf("%s\n", out.dump().c_str());
  });
}

}  // namespace whale::cli
