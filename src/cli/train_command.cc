// whale train --config FILE.toml [--resume]
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "train/interrupt.h"
#include "train/trainer.h"

namespace whale::cli {

void add_train_command(CLI::App& app) {
  struct Options {
    std::string config;
    bool resume = false, quiet = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("train", "Pretrain or fine-tune (SFT) a model from a TOML config");
  cmd->add_option("--config", opt->config, "training config (.toml)")->required();
  cmd->add_flag("--resume", opt->resume, "continue from the latest checkpoint in [train] out");
  cmd->add_flag("--quiet", opt->quiet, "no progress line");
  cmd->callback([opt] {
    install_interrupt_handler();  // before anything slow: a Ctrl-C while loading still ends with a checkpoint
    TrainConfig config = load_train_config(opt->config);
    TrainSummary s = run_training(config, {.resume = opt->resume, .progress = !opt->quiet});
    nlohmann::json out = {{"steps", s.steps_done},       {"first_step", s.first_step},
                          {"first_loss", s.first_loss},  {"last_loss", s.last_loss},
                          {"tokens_per_s", s.tokens_per_s}, {"gflops", s.gflops},
                          {"checkpoint", s.checkpoint.string()}, {"interrupted", s.interrupted}};
    if (s.eval_loss) out["eval_loss"] = *s.eval_loss;
    std::printf("%s\n", out.dump().c_str());
  });
}

}  // namespace whale::cli
