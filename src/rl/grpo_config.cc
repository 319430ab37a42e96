#include "rl/grpo_config.h"

#include <algorithm>
#include <array>

#include <fmt/ranges.h>

#include "config/toml_section.h"
#include "core/error.h"

namespace whale::rl {
namespace {

namespace fs = std::filesystem;
using std::string_view_literals::operator""sv;

constexpr std::array kSections = {"model"sv, "task"sv, "rollout"sv, "grpo"sv, "optim"sv, "train"sv};
constexpr std::array kModelKeys = {"checkpoint"sv, "tokenizer"sv};
constexpr std::array kTaskKeys = {"name"sv,          "min_difficulty"sv, "max_difficulty"sv, "prompt"sv,
                                  "prefill_think"sv, "instruction"sv, "format_weight"sv};
constexpr std::array kRolloutKeys = {"prompts"sv, "group_size"sv,       "max_new_tokens"sv, "temperature"sv,
                                     "top_p"sv,   "slots"sv, "dynamic_sampling"sv, "max_draws"sv};
constexpr std::array kGrpoKeys = {"epochs"sv, "micro_batch"sv, "eps_low"sv,       "eps_high"sv,
                                  "beta"sv,   "aggregation"sv, "scale_by_std"sv};
constexpr std::array kTrainKeys = {"steps"sv,         "seed"sv,           "threads"sv,
                                   "eval_interval"sv, "eval_problems"sv,  "eval_samples"sv,
                                   "eval_temperature"sv, "eval_top_p"sv, "checkpoint_interval"sv,
                                   "keep_checkpoints"sv, "out"sv};

constexpr int64_t kMaxInt = int64_t(1) << 40;

}  // namespace

Aggregation parse_aggregation(const std::string& text, const std::string& what) {
  if (text == "seq-mean") return Aggregation::kSeqMean;
  if (text == "token-mean") return Aggregation::kTokenMean;
  if (text == "constant") return Aggregation::kConstant;
  fail("{}: unknown aggregation '{}' (expected \"seq-mean\", \"token-mean\" or \"constant\")", what, text);
}

GrpoConfig load_grpo_config(const fs::path& file) { return parse_grpo_config(read_config_text(file), file); }

GrpoConfig parse_grpo_config(std::string_view toml_text, const fs::path& source) {
  const toml::table root = parse_toml_sections(toml_text, source, kSections);
  const TomlSection model(root["model"].as_table(), "model", source, kModelKeys);
  const TomlSection task(root["task"].as_table(), "task", source, kTaskKeys);
  const TomlSection rollout(root["rollout"].as_table(), "rollout", source, kRolloutKeys);
  const TomlSection grpo(root["grpo"].as_table(), "grpo", source, kGrpoKeys);
  const TomlSection optim(root["optim"].as_table(), "optim", source, optim_keys());
  const TomlSection train(root["train"].as_table(), "train", source, kTrainKeys);

  GrpoConfig c;
  c.source = source;
  if (!model.has("checkpoint")) fail("{}: [model] checkpoint (the initial policy) is required", source.string());
  c.model.checkpoint = model.path("checkpoint");
  c.model.tokenizer = model.has("tokenizer") ? model.path("tokenizer") : c.model.checkpoint;

  auto& t = c.task;
  t.name = task.string("name", t.name);
  const std::vector<std::string> names = task_names();
  if (std::find(names.begin(), names.end(), t.name) == names.end())
    fail("{}: [task] name = \"{}\" is not a task (tasks: {})", task.where("name"), t.name, fmt::join(names, ", "));
  t.min_difficulty = int(task.integer("min_difficulty", 1, 1, 100));
  t.max_difficulty = int(task.integer("max_difficulty", 0, 0, 100));
  if (t.max_difficulty != 0 && t.max_difficulty < t.min_difficulty)
    fail("{}: [task] max_difficulty {} is below min_difficulty {}", task.where("max_difficulty"), t.max_difficulty,
         t.min_difficulty);
  t.prompt.style = task.choice("prompt", "r1-zero", parse_prompt_style);
  t.prompt.prefill_think = task.boolean("prefill_think", true);
  t.prompt.instruction = task.choice("instruction", "user", parse_instruction);
  t.reward.format_weight = task.number("format_weight", 0.1, 0.0, 10.0);

  auto& r = c.rollout;
  r.prompts = rollout.integer("prompts", r.prompts, 1, 1 << 20);
  r.group_size = rollout.integer("group_size", r.group_size, 2, 1 << 16);
  r.max_new_tokens = rollout.integer("max_new_tokens", r.max_new_tokens, 1, 1 << 20);
  r.temperature = float(rollout.number("temperature", 1.0, 0.0, 100.0, /*lo_open=*/true));
  r.top_p = float(rollout.number("top_p", 1.0, 0.0, 1.0, /*lo_open=*/true));
  r.slots = rollout.integer("slots", r.slots, 1, 1 << 16);
  r.dynamic_sampling = rollout.boolean("dynamic_sampling", false);
  r.max_draws = rollout.integer("max_draws", r.max_draws, 1, 1000);

  auto& g = c.grpo;
  g.epochs = grpo.integer("epochs", 1, 1, 1000);
  g.micro_batch = grpo.integer("micro_batch", g.micro_batch, 1, 1 << 20);
  g.loss.eps_low = float(grpo.number("eps_low", 0.2, 0.0, 1.0));
  g.loss.eps_high = float(grpo.number("eps_high", g.loss.eps_low, 0.0, 100.0));
  g.loss.beta = float(grpo.number("beta", 0.0, 0.0, 100.0));
  g.loss.aggregation = grpo.choice("aggregation", "seq-mean", parse_aggregation);
  g.loss.constant_norm = float(r.max_new_tokens);  // Dr. GRPO divides by the generation budget
  g.advantages.scale_by_std = grpo.boolean("scale_by_std", true);

  auto& tr = c.train;
  if (!train.has("steps")) fail("{}: [train] steps is required", source.string());
  tr.steps = train.integer("steps", 0, 1, kMaxInt);
  tr.seed = uint64_t(train.integer("seed", 0, 0, INT64_MAX));
  tr.threads = size_t(train.integer("threads", 0, 0, 4096));
  tr.eval_interval = train.integer("eval_interval", 0, 0, kMaxInt);
  tr.eval_problems = train.integer("eval_problems", tr.eval_problems, 1, 1 << 20);
  tr.eval_samples = train.integer("eval_samples", tr.eval_samples, 1, 1 << 16);
  tr.eval_temperature = float(train.number("eval_temperature", 0.6, 0.0, 100.0));
  tr.eval_top_p = float(train.number("eval_top_p", 0.95, 0.0, 1.0, /*lo_open=*/true));
  tr.checkpoint_interval = train.integer("checkpoint_interval", 0, 0, kMaxInt);
  tr.keep_checkpoints = train.integer("keep_checkpoints", 3, 1, 1 << 20);
  if (!train.has("out")) fail("{}: [train] out (the run directory) is required", source.string());
  tr.out = train.path("out");

  OptimConfig defaults;
  defaults.lr = 1e-5;
  defaults.schedule = ScheduleKind::kConstant;
  defaults.weight_decay = 0.0;
  c.optim = parse_optim(optim, c.optimizer_steps(), defaults);
  return c;
}

}  // namespace whale::rl
