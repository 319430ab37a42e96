// whale distill generate: the trace filter (rejection sampling) on synthetic responses, and the command end
// to end on a teacher whose greedy reply is known (the server test model, made to end its reply with EOS):
// kept traces, teacher log-probabilities, resume after a kill, and bad prompt files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "distill/trace_filter.h"
#include "rl/cold_start.h"
#include "rl/tasks/task.h"
#include "run_command.h"
#include "server_test_model.h"
#include "temp_dir.h"
#include "tokenizer/tokenizer.h"

namespace whale::testing {
namespace {

namespace fs = std::filesystem;
using distill::TraceVerdict;
using nlohmann::json;

TEST(DistillTraceFilter, KeepsExactlyTheCorrectFinishedWellFormedTraces) {
  const distill::TraceFilterOptions opt;
  std::mt19937_64 rng(5);
  for (const std::string& name : rl::task_names()) {
    const std::unique_ptr<rl::Task> task = rl::make_task(name);
    for (int i = 0; i < 50; ++i) {
      const rl::Problem p = task->draw(rl::Split::kTrain, 1, 0, rng);
      const std::string good = rl::worked_response(*task, p);
      EXPECT_EQ(distill::judge_trace(task.get(), &p, good, false, opt), TraceVerdict::kKept) << good;
      EXPECT_EQ(distill::judge_trace(task.get(), &p, good, true, opt), TraceVerdict::kTruncated);
      const std::string wrong = "<think>\nguess\n</think>\n<answer>" + p.ground_truth + "9</answer>";
      EXPECT_EQ(distill::judge_trace(task.get(), &p, wrong, false, opt), TraceVerdict::kWrong) << wrong;
      EXPECT_EQ(distill::judge_trace(task.get(), &p, "The answer is " + p.ground_truth, false, opt),
                TraceVerdict::kNoFormat);
      EXPECT_EQ(distill::judge_trace(task.get(), &p, "<think>\nstill thinking", false, opt),
                TraceVerdict::kUnclosedReasoning);
    }
  }
  // Free prompts (no verifier): only the length, loop and closed-reasoning rules.
  EXPECT_EQ(distill::judge_trace(nullptr, nullptr, "<think>\nhm\n</think>\n\nHello!", false, opt), TraceVerdict::kKept);
  EXPECT_EQ(distill::judge_trace(nullptr, nullptr, std::string(20000, 'a'), false, opt), TraceVerdict::kTooLong);
  std::string loop = "<think>\n";
  for (int i = 0; i < 3; ++i) loop += "Wait, let me check the sum of the first two numbers again before I go on. ";
  EXPECT_EQ(distill::judge_trace(nullptr, nullptr, loop + "</think>ok", false, opt), TraceVerdict::kRepetitive);
}

TEST(DistillTraceFilter, WorkedSolutionsAreNotTakenForLoops) {
  std::mt19937_64 rng(9);
  for (const std::string& name : rl::task_names()) {
    const std::unique_ptr<rl::Task> task = rl::make_task(name);
    for (int i = 0; i < 200; ++i) {
      const rl::Problem p = task->draw(rl::Split::kTrain, task->max_difficulty(), 0, rng);
      const std::string text = rl::worked_response(*task, p);
      EXPECT_FALSE(distill::is_repetitive(text, 12, 3)) << text;
    }
  }
  EXPECT_TRUE(distill::is_repetitive("a b c a b c a b c", 3, 3));
  EXPECT_FALSE(distill::is_repetitive("a b c a b c a b", 3, 3));
}

// The server test model, changed so that its greedy reply to kReasoningChat ends with EOS two tokens after
// its </think>: a teacher whose output is known (reasoning, </think>, an answer, EOS).
struct EosTeacher {
  EosTeacher();
  ~EosTeacher() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path dir;
};

EosTeacher::EosTeacher() : dir(fs::temp_directory_path() / ("whale-distill-teacher-" + std::to_string(::getpid()))) {
  fs::remove_all(dir);
  fs::copy(server_test_model_dir(), dir);
  const Tokenizer tok = Tokenizer::load(dir);
  std::vector<int32_t> prompt;
  const std::vector<int32_t> reply = greedy_reply(dir, &prompt);
  const auto close =
      std::find_if(reply.begin(), reply.end(), [&](int32_t id) { return tok.decode({id}) == "</think>"; });
  EXPECT_NE(close, reply.end());
  for (size_t k = size_t(close - reply.begin()) + 2; k < reply.size(); ++k) {
    const int32_t x = reply[k];
    if (std::count(prompt.begin(), prompt.end(), x) || std::count(reply.begin(), reply.begin() + ptrdiff_t(k), x))
      continue;
    swap_token_rows(dir, x, tok.eos_id());
    EXPECT_EQ(greedy_reply(dir)[k], tok.eos_id());
    return;
  }
  ADD_FAILURE() << "no token to turn into EOS";
}

// Built once per test process, removed at its exit.
const fs::path& eos_teacher() {
  static const EosTeacher teacher;
  return teacher.dir;
}

// The summary line the command prints last.
json summary(const CommandResult& r) {
  const size_t at = r.output.rfind("\n{");
  return json::parse(r.output.substr(at == std::string::npos ? 0 : at + 1));
}

std::vector<json> read_jsonl(const fs::path& file) {
  std::vector<json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

TEST(DistillGenerate, KeepsFinishedTracesWithLogprobsAndResumes) {
  TempDir tmp;
  const fs::path prompts = tmp.path() / "prompts.jsonl", out = tmp.path() / "traces.jsonl";
  std::ofstream(prompts) << "{\"prompt\": \"" << kReasoningChat << "\"}\n\n{\"messages\": [{\"role\": \"user\", "
                         << "\"content\": \"" << kReasoningChat << "\"}]}\n{\"prompt\": \"" << kReasoningChat
                         << "\"}\n";
  const std::string cmd = std::string(WHALE_BINARY) + " distill generate --threads 1 --teacher " +
                          eos_teacher().string() + " --prompts " + prompts.string() +
                          " --samples 2 --temperature 0 --logprobs 3 --batch-prompts 2 --max-new-tokens 64 --out " +
                          out.string();
  const CommandResult first = run_command(cmd);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::vector<json> traces = read_jsonl(out);
  ASSERT_EQ(traces.size(), 6u) << first.output;
  const Tokenizer tok = Tokenizer::load(eos_teacher());
  std::set<std::pair<std::string, int>> seen;
  for (const json& t : traces) {
    const std::string content = t["messages"].back()["content"];
    EXPECT_EQ(t["messages"].back()["role"], "assistant");
    EXPECT_EQ(content.rfind("<think>\n", 0), 0u) << content;
    EXPECT_NE(content.find("</think>"), std::string::npos);
    EXPECT_TRUE(seen.insert({t["prompt_id"].get<std::string>(), t["sample"].get<int>()}).second);
    const json& teacher = t["teacher"];
    ASSERT_EQ(teacher["top_logprobs"].size(), teacher["tokens"].size());
    EXPECT_EQ("<think>\n" + tok.decode(teacher["tokens"].get<std::vector<int32_t>>()), content);
    for (size_t i = 0; i < teacher["tokens"].size(); ++i) {
      const json& row = teacher["top_logprobs"][i];
      ASSERT_EQ(row.size(), 3u);
      EXPECT_EQ(row[0][0], teacher["tokens"][i]) << "greedy: the sampled token is the most likely";
      EXPECT_GE(row[0][1].get<double>(), row[1][1].get<double>());
    }
  }
  EXPECT_EQ(traces[0]["messages"].back()["content"], traces[5]["messages"].back()["content"]);
  EXPECT_EQ(read_jsonl(out.string() + ".progress.jsonl").size(), 3u);

  // A second run has nothing to do.
  const CommandResult again = run_command(cmd);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(summary(again)["prompts_skipped"], 3) << again.output;
  EXPECT_EQ(summary(again)["prompts_done"], 0);
  EXPECT_EQ(read_jsonl(out).size(), 6u);

  // A kill between the two appends, mid-line: the last prompt's traces are written but not recorded, and a
  // torn line follows. The rerun drops both and redoes that prompt only.
  std::vector<json> progress = read_jsonl(out.string() + ".progress.jsonl");
  {
    std::ofstream p(out.string() + ".progress.jsonl", std::ios::trunc);
    for (size_t i = 0; i + 1 < progress.size(); ++i) p << progress[i].dump() << "\n";
    std::ofstream(out, std::ios::app) << "{\"messages\": [{\"role\"";
  }
  const CommandResult resumed = run_command(cmd);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(summary(resumed)["prompts_done"], 1) << resumed.output;
  EXPECT_EQ(summary(resumed)["prompts_skipped"], 2);
  const std::vector<json> after = read_jsonl(out);
  ASSERT_EQ(after.size(), 6u);
  std::set<std::pair<std::string, int>> unique;
  for (const json& t : after) unique.insert({t["prompt_id"].get<std::string>(), t["sample"].get<int>()});
  EXPECT_EQ(unique, seen);
}

TEST(DistillGenerate, DropsUnfinishedAndWrongTracesAndRefusesBadInput) {
  TempDir tmp;
  const std::string base =
      std::string(WHALE_BINARY) + " distill generate --threads 1 --teacher " + eos_teacher().string();
  // A budget below the reply's length: every trace is cut, none kept; the verdicts say why.
  const fs::path prompts = tmp.path() / "p.jsonl";
  std::ofstream(prompts) << "{\"prompt\": \"" << kReasoningChat << "\"}\n";
  const fs::path out = tmp.path() / "cut.jsonl";
  const CommandResult cut = run_command(base + " --prompts " + prompts.string() + " --samples 3 --temperature 0 " +
                                        "--max-new-tokens 2 --out " + out.string());
  ASSERT_EQ(cut.exit_code, 0) << cut.output;
  EXPECT_EQ(summary(cut)["traces_kept"], 0) << cut.output;
  EXPECT_EQ(read_jsonl(out.string() + ".progress.jsonl")[0]["verdicts"], json({{"truncated", 3}}));
  // Task mode: a random-weight teacher never answers correctly, so nothing is kept, and every trace is counted.
  const fs::path task_out = tmp.path() / "task.jsonl";
  const CommandResult task =
      run_command(base + " --task arithmetic --n 3 --samples 2 --max-new-tokens 8 --out " + task_out.string());
  ASSERT_EQ(task.exit_code, 0) << task.output;
  EXPECT_EQ(summary(task)["traces_tried"], 6) << task.output;
  EXPECT_EQ(summary(task)["traces_kept"], 0);
  for (const json& p : read_jsonl(task_out.string() + ".progress.jsonl")) {
    int64_t n = 0;
    for (const auto& [verdict, count] : p["verdicts"].items()) n += count.get<int64_t>();
    EXPECT_EQ(n, 2);
    EXPECT_EQ(p["kept"], 0);
  }
  // Bad prompt files name the line.
  std::ofstream(prompts) << "{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n";
  const CommandResult bad =
      run_command(base + " --prompts " + prompts.string() + " --out " + (tmp.path() / "b").string());
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("p.jsonl:2: expected a string 'prompt'"), std::string::npos) << bad.output;
  std::ofstream(prompts) << "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", "
                            "\"content\": \"yo\"}]}\n";
  const CommandResult last_assistant =
      run_command(base + " --prompts " + prompts.string() + " --out " + (tmp.path() / "c").string());
  EXPECT_EQ(last_assistant.exit_code, 1);
  EXPECT_NE(last_assistant.output.find("p.jsonl:1: the last message is the assistant's"), std::string::npos);
  const CommandResult both = run_command(base + " --task arithmetic --prompts " + prompts.string() + " --out x");
  EXPECT_EQ(both.exit_code, 1);
}

}  // namespace
}  // namespace whale::testing
