// whale init --config CONFIG.json --out DIR [--seed S] [--dtype bf16|f32|f16]
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "io/json_file.h"
#include "model/init.h"

namespace whale::cli {

void add_init_command(CLI::App& app) {
  struct Options {
    std::string config, out, dtype = "bf16";
    InitOptions init;
    size_t threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("init", "Write a random-weight checkpoint (hub layout) for a config.json");
  cmd->add_option("--config", opt->config, "config.json of any supported architecture")->required();
  cmd->add_option("--out", opt->out, "output directory")->required();
  cmd->add_option("--seed", opt->init.seed, "random seed");
  cmd->add_option("--dtype", opt->dtype, "storage dtype")->check(CLI::IsMember({"bf16", "f32", "f16"}));
  cmd->add_option("--std", opt->init.std, "standard deviation of matrix weights")->check(CLI::PositiveNumber);
  add_threads_option(cmd, opt->threads);
  cmd->callback([opt] {
    const nlohmann::json j = read_json_file(opt->config);
    opt->init.dtype = opt->dtype == "f32" ? DType::F32 : opt->dtype == "f16" ? DType::F16 : DType::BF16;
    ThreadPool pool(opt->threads);
    init_checkpoint(j, opt->out, opt->init, pool);
  });
}

}  // namespace whale::cli
