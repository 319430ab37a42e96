#include "train/train_config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <span>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace whale {

namespace {

namespace fs = std::filesystem;
using Keys = std::span<const std::string_view>;
using std::string_view_literals::operator""sv;

constexpr std::array kSections = {"model"sv, "data"sv, "train"sv, "optim"sv, "moe"sv};
constexpr std::array kModelKeys = {"init"sv, "checkpoint"sv, "tokenizer"sv, "mtp"sv};
constexpr std::array kDataKeys = {"train"sv, "eval_fraction"sv, "kind"sv};
constexpr std::array kTrainKeys = {"seq_len"sv, "batch_tokens"sv, "batch_size"sv, "grad_accum"sv, "steps"sv,
                                   "tokens"sv, "seed"sv, "threads"sv, "eval_interval"sv, "eval_batches"sv,
                                   "checkpoint_interval"sv, "keep_checkpoints"sv, "log_interval"sv, "out"sv};
constexpr std::array kOptimKeys = {"lr"sv, "min_lr"sv, "warmup_steps"sv, "schedule"sv, "decay_fraction"sv,
                                   "decay_shape"sv, "beta1"sv, "beta2"sv, "eps"sv, "weight_decay"sv, "grad_clip"sv};
constexpr std::array kMoeKeys = {"bias_update_rate"sv, "seq_aux_alpha"sv, "mtp_lambda"sv};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view word, Keys candidates) {
  const std::string best = closest_match(word, candidates);
  return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

// Reads typed, range-checked values of one [section]; every error names file, line and key.
class Section {
 public:
  Section(const toml::table* table, std::string name, const fs::path& file, Keys known)
      : table_(table), name_(std::move(name)), file_(file) {
    if (!table_) return;
    for (auto&& [key, node] : *table_) {
      const std::string_view k = key.str();
      if (std::find(known.begin(), known.end(), k) == known.end())
        fail("{}:{}: unknown key '{}' in [{}]{}", file_.string(), key.source().begin.line, k, name_,
             did_you_mean(k, known));
    }
  }

  bool has(std::string_view key) const { return node(key) != nullptr; }

  int64_t integer(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const {
    const toml::node* n = node(key);
    if (!n) return fallback;
    if (!n->is_integer()) type_error(*n, key, "an integer");
    const int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) range_error(*n, key, fmt::format("{}", v), fmt::format("[{}, {}]", lo, hi));
    return v;
  }

  // lo_open: the lower bound itself is excluded.
  double number(std::string_view key, double fallback, double lo, double hi, bool lo_open = false,
                bool hi_open = false) const {
    const toml::node* n = node(key);
    if (!n) return fallback;
    double v = 0;
    if (n->is_integer()) v = double(n->as_integer()->get());
    else if (n->is_floating_point()) v = n->as_floating_point()->get();
    else type_error(*n, key, "a number");
    const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok)
      range_error(*n, key, fmt::format("{}", v),
                  fmt::format("{}{}, {}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]"));
    return v;
  }

  bool boolean(std::string_view key, bool fallback) const {
    const toml::node* n = node(key);
    if (!n) return fallback;
    if (!n->is_boolean()) type_error(*n, key, "a boolean (true or false)");
    return n->as_boolean()->get();
  }

  std::string string(std::string_view key, const std::string& fallback) const {
    const toml::node* n = node(key);
    if (!n) return fallback;
    if (!n->is_string()) type_error(*n, key, "a string");
    return n->as_string()->get();
  }

  // A path relative to the config file's directory; empty when absent.
  fs::path path(std::string_view key) const {
    const std::string s = string(key, "");
    if (has(key) && s.empty()) fail("{}: [{}] {} must not be empty", where(key), name_, key);
    if (s.empty()) return {};
    const fs::path p(s);
    return p.is_absolute() ? p : file_.parent_path() / p;
  }

  // For enum-like strings: parse(text, what) throws with the allowed values.
  template <typename Parse>
  auto choice(std::string_view key, const std::string& fallback, Parse parse) const {
    return parse(string(key, fallback), fmt::format("{}: [{}] {}", where(key), name_, key));
  }

  std::string where(std::string_view key) const {
    const toml::node* n = node(key);
    return n ? fmt::format("{}:{}", file_.string(), n->source().begin.line) : file_.string();
  }
  const std::string& name() const { return name_; }

 private:
  const toml::node* node(std::string_view key) const { return table_ ? table_->get(key) : nullptr; }
  [[noreturn]] void type_error(const toml::node& n, std::string_view key, const char* expected) const {
    fail("{}: [{}] {} must be {}, got {}", where(key), name_, key, expected, type_name(n));
  }
  [[noreturn]] void range_error(const toml::node& n, std::string_view key, const std::string& value,
                                const std::string& range) const {
    fail("{}: [{}] {} = {} is out of range {}", where(key), name_, key, value, range);
  }

  const toml::table* table_;
  std::string name_;
  const fs::path& file_;
};

DataKind parse_data_kind(const std::string& text, const std::string& what) {
  if (text == "pretrain") return DataKind::kPretrain;
  if (text == "sft") return DataKind::kSft;
  fail("{}: unknown kind '{}' (expected \"pretrain\" or \"sft\")", what, text);
}

constexpr int64_t kMaxInt = int64_t(1) << 53;

// Exactly one of two keys: which one, or an error naming both.
bool exactly_one(const Section& s, std::string_view a, std::string_view b) {
  if (s.has(a) && s.has(b)) fail("{}: [{}] set either {} or {}, not both", s.where(b), s.name(), a, b);
  if (!s.has(a) && !s.has(b)) fail("{}: [{}] needs {} or {}", s.where(a), s.name(), a, b);
  return s.has(a);
}

}  // namespace

std::string closest_match(std::string_view word, std::span<const std::string_view> candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;  // accept up to max(2, len/3) edits
  for (std::string_view c : candidates) {
    // A prefix either way ("optimizer" for "optim") counts as one edit.
    const bool prefix = word.substr(0, c.size()) == c || c.substr(0, word.size()) == word;
    const size_t d = prefix && !word.empty() ? 1 : edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

ScheduleConfig TrainConfig::schedule() const {
  return {.kind = optim.schedule, .lr = optim.lr, .min_lr = optim.min_lr, .warmup_steps = optim.warmup_steps,
          .total_steps = train.steps, .decay_fraction = optim.decay_fraction, .decay_shape = optim.decay_shape};
}

AdamWConfig TrainConfig::adamw() const {
  return {.beta1 = optim.beta1, .beta2 = optim.beta2, .eps = optim.eps, .weight_decay = optim.weight_decay};
}

TrainConfig load_train_config(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open the config file", file.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_train_config(ss.str(), file);
}

TrainConfig parse_train_config(std::string_view toml_text, const fs::path& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& e) {
    fail("{}:{}:{}: TOML syntax error: {}", source.string(), e.source().begin.line, e.source().begin.column,
         e.description());
  }
  for (auto&& [key, node] : root) {
    const std::string_view k = key.str();
    if (!node.is_table())
      fail("{}:{}: key '{}' is outside any section (sections: [model] [data] [train] [optim] [moe])",
           source.string(), key.source().begin.line, k);
    if (std::find(kSections.begin(), kSections.end(), k) == kSections.end())
      fail("{}:{}: unknown section [{}]{}", source.string(), key.source().begin.line, k, did_you_mean(k, kSections));
  }
  TrainConfig c;
  c.source = source;
  const Section model(root["model"].as_table(), "model", source, kModelKeys);
  const Section data(root["data"].as_table(), "data", source, kDataKeys);
  const Section train(root["train"].as_table(), "train", source, kTrainKeys);
  const Section optim(root["optim"].as_table(), "optim", source, kOptimKeys);
  const Section moe(root["moe"].as_table(), "moe", source, kMoeKeys);

  if (exactly_one(model, "init", "checkpoint")) c.model.init = model.path("init");
  else c.model.checkpoint = model.path("checkpoint");
  c.model.tokenizer = model.has("tokenizer") ? model.path("tokenizer") : c.model.checkpoint;
  if (c.model.tokenizer.empty()) fail("{}: [model] tokenizer is required with init", model.where("init"));
  c.model.mtp = model.boolean("mtp", false);

  if (!data.has("train")) fail("{}: [data] train (a token file from `whale data build`) is required", source.string());
  c.data.train = data.path("train");
  c.data.eval_fraction = data.number("eval_fraction", 0.01, 0.0, 1.0, false, /*hi_open=*/true);
  c.data.kind = data.choice("kind", "pretrain", parse_data_kind);

  auto& t = c.train;
  t.seq_len = train.integer("seq_len", 512, 1, 1 << 20);
  t.grad_accum = train.integer("grad_accum", 1, 1, 1 << 20);
  const int64_t per_sequence_step = t.seq_len * t.grad_accum;
  if (exactly_one(train, "batch_tokens", "batch_size")) {
    t.batch_tokens = train.integer("batch_tokens", 0, 1, kMaxInt);
    if (t.batch_tokens % per_sequence_step != 0)
      fail("{}: [train] batch_tokens = {} is not a multiple of seq_len × grad_accum = {}", train.where("batch_tokens"),
           t.batch_tokens, per_sequence_step);
    t.batch_size = t.batch_tokens / per_sequence_step;
  } else {
    t.batch_size = train.integer("batch_size", 0, 1, 1 << 20);
    t.batch_tokens = t.batch_size * per_sequence_step;
  }
  if (exactly_one(train, "steps", "tokens")) {
    t.steps = train.integer("steps", 0, 1, kMaxInt);
  } else {
    const int64_t tokens = train.integer("tokens", 0, 1, kMaxInt);
    t.steps = (tokens + t.batch_tokens - 1) / t.batch_tokens;
  }
  t.seed = uint64_t(train.integer("seed", 0, 0, INT64_MAX));
  t.threads = size_t(train.integer("threads", 0, 0, 4096));
  t.eval_interval = train.integer("eval_interval", 0, 0, kMaxInt);
  t.eval_batches = train.integer("eval_batches", 8, 1, 1 << 20);
  t.checkpoint_interval = train.integer("checkpoint_interval", 0, 0, kMaxInt);
  t.keep_checkpoints = train.integer("keep_checkpoints", 3, 1, 1 << 20);
  t.log_interval = train.integer("log_interval", 1, 1, kMaxInt);
  if (!train.has("out")) fail("{}: [train] out (the run directory) is required", source.string());
  t.out = train.path("out");

  auto& o = c.optim;
  o.lr = optim.number("lr", 3e-4, 0.0, 10.0, /*lo_open=*/true);
  o.min_lr = optim.number("min_lr", o.lr / 10, 0.0, o.lr);
  o.warmup_steps = optim.integer("warmup_steps", 0, 0, t.steps);
  o.schedule = optim.choice("schedule", "cosine", parse_schedule_kind);
  o.decay_fraction = optim.number("decay_fraction", 0.2, 0.0, 1.0, /*lo_open=*/true);
  o.decay_shape = optim.choice("decay_shape", "linear", parse_decay_shape);
  o.beta1 = optim.number("beta1", 0.9, 0.0, 1.0, false, /*hi_open=*/true);
  o.beta2 = optim.number("beta2", 0.95, 0.0, 1.0, false, /*hi_open=*/true);
  o.eps = optim.number("eps", 1e-8, 0.0, 1.0, /*lo_open=*/true);
  o.weight_decay = optim.number("weight_decay", 0.1, 0.0, 10.0);
  o.grad_clip = optim.number("grad_clip", 1.0, 0.0, 1e9);

  c.moe.bias_update_rate = moe.number("bias_update_rate", 0.001, 0.0, 1.0);
  c.moe.seq_aux_alpha = moe.number("seq_aux_alpha", 0.0001, 0.0, 10.0);
  c.moe.mtp_lambda = moe.number("mtp_lambda", 0.3, 0.0, 10.0);
  return c;
}

}  // namespace whale
