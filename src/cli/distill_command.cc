// whale distill generate --teacher MODEL (--task all|NAME --n N | --prompts FILE) --samples K --out FILE:
// teacher traces for distillation (distill/distill_generate.h); the student is then trained on them with
// `whale data build` + `whale train` (sequence-level distillation, as R1-Distill).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "distill/distill_generate.h"

namespace whale::cli {

void add_distill_command(CLI::App& app) {
  CLI::App* distill = app.add_subcommand("distill", "Distillation: teacher traces for a student");
  distill->require_subcommand(1);
  auto opt = std::make_shared<distill::DistillGenerateOptions>();
  auto prompt_style = std::make_shared<std::string>("chat");
  CLI::App* cmd = distill->add_subcommand(
      "generate", "Sample K traces per prompt from a teacher, keep the correct, finished, non-degenerate ones");
  cmd->add_option("--teacher", opt->teacher, "teacher checkpoint (directory or .gguf)")->required();
  CLI::Option* task =
      cmd->add_option("--task", opt->task, "all | arithmetic | countdown | linear_equation | word_problem");
  CLI::Option* prompts =
      cmd->add_option("--prompts", opt->prompts_file,
                      "JSON lines {\"prompt\": ...} or {\"messages\": [...]} instead of a task (no verifier)");
  task->excludes(prompts);
  cmd->add_option("--n", opt->n, "prompts (with --prompts: the file's first N, 0 = all)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30));
  cmd->add_option("--samples", opt->samples, "traces sampled per prompt (K)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 12));
  cmd->add_option("--out", opt->out, "kept traces, chat JSON lines (appended; a rerun resumes)")->required();
  cmd->add_option("--seed", opt->seed, "seed of the problems and of the sampling");
  cmd->add_option("--min-difficulty", opt->min_difficulty)->check(CLI::Range(1, 100));
  cmd->add_option("--max-difficulty", opt->max_difficulty, "0: the task's maximum")->check(CLI::Range(0, 100));
  cmd->add_option("--temperature", opt->temperature)->check(CLI::Range(0.0f, 100.0f));
  cmd->add_option("--top-p", opt->top_p)->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--max-new-tokens", opt->max_new_tokens, "budget per trace (a trace that hits it is dropped)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--logprobs", opt->logprobs, "also keep the teacher's top-K log-probabilities of every token")
      ->check(CLI::Range(int64_t(0), int64_t(20)));
  cmd->add_option("--max-chars", opt->filter.max_chars, "drop longer traces")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 30));
  cmd->add_option("--repeat-words", opt->filter.repeat_words, "repetition filter: window of words")
      ->check(CLI::Range(int64_t(2), int64_t(1000)));
  cmd->add_option("--repeat-times", opt->filter.repeat_times,
                  "repetition filter: drop a trace where a window repeats this often")
      ->check(CLI::Range(int64_t(2), int64_t(1000)));
  cmd->add_option("--prompt", *prompt_style, "chat (the teacher's template) or r1-zero (plain text prompt)")
      ->check(CLI::IsMember({"chat", "r1-zero"}));
  add_instruction_option(cmd, opt->prompt.instruction);
  cmd->add_option("--slots", opt->slots, "sequences decoded together")->check(CLI::Range(int64_t(1), int64_t(4096)));
  cmd->add_option("--batch-prompts", opt->batch_prompts, "prompts per durable write")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  add_threads_option(cmd, opt->threads);
  cmd->callback([opt, prompt_style] {
    opt->prompt.style = rl::parse_prompt_style(*prompt_style, "--prompt");
    const distill::DistillGenerateStats s = distill::distill_generate(*opt);
    std::printf("%s\n", nlohmann::json({{"prompts_done", s.prompts_done},
                                        {"prompts_skipped", s.prompts_skipped},
                                        {"traces_tried", s.tried},
                                        {"traces_kept", s.kept},
                                        {"seconds", s.seconds},
                                        {"out", opt->out.string()}})
                            .dump()
                            .c_str());
  });
}

}  // namespace whale::cli
