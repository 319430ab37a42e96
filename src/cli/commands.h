// Each subcommand lives in its own cli/<name>_command.cc and registers itself on the app here.
#pragma once

#include <CLI/CLI.hpp>

namespace whale::cli {

void add_forward_command(CLI::App& app);
void add_grad_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_init_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_tokenizer_command(CLI::App& app);
void add_rl_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_plot_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_perplexity_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_distill_command(CLI::App& app);

inline void register_commands(CLI::App& app) {
  add_forward_command(app);
  add_grad_command(app);
  add_train_command(app);
  add_generate_command(app);
  add_init_command(app);
  add_bench_command(app);
  add_tokenize_command(app);
  add_tokenizer_command(app);
  add_rl_command(app);
  add_serve_command(app);
  add_data_command(app);
  add_plot_command(app);
  add_eval_command(app);
  add_quantize_command(app);
  add_perplexity_command(app);
  add_chat_command(app);
  add_distill_command(app);
}

}  // namespace whale::cli
