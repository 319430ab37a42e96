#include "distill/distill_generate.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/progress.h"
#include "core/regular_file.h"
#include "distill/tokenizer_fingerprint.h"
#include "engine/batch_engine.h"
#include "engine/model_bundle.h"
#include "rl/reward.h"
#include "rl/rollout.h"

namespace whale::distill {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct PromptItem {
  std::string id;
  uint64_t index = 0;              // place in the prompt sequence (seeds its samples)
  const rl::Task* task = nullptr;  // null: a free prompt
  std::optional<rl::Problem> problem;
  json messages;  // the conversation before the teacher's reply
};

std::vector<PromptItem> task_prompts(const DistillGenerateOptions& o, std::vector<std::unique_ptr<rl::Task>>& tasks) {
  if (o.task == "all") {
    for (const std::string& name : rl::task_names()) tasks.push_back(rl::make_task(name));
  } else {
    tasks.push_back(rl::make_task(o.task));
  }
  std::mt19937_64 rng(o.seed);
  std::vector<PromptItem> items;
  for (int64_t i = 0; i < o.n; ++i) {
    const rl::Task& task = *tasks[size_t(i) % tasks.size()];
    rl::Problem p = task.draw(rl::Split::kTrain, o.min_difficulty, o.max_difficulty, rng);
    json messages = rl::chat_messages(p, o.prompt.instruction);
    items.push_back({.id = fmt::format("{}/{}", task.name(), i),
                     .index = uint64_t(i),
                     .task = &task,
                     .problem = std::move(p),
                     .messages = std::move(messages)});
  }
  return items;
}

// {"prompt": text} or {"messages": [...]} per line; the id is the line number.
std::vector<PromptItem> file_prompts(const fs::path& file, int64_t n) {
  std::istringstream in(read_regular_file(file));
  std::vector<PromptItem> items;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line) && (n == 0 || int64_t(items.size()) < n);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string where = fmt::format("{}:{}", file.string(), line_no);
    if (!j.is_object()) fail("{}: expected a JSON object {{\"prompt\": ...}} or {{\"messages\": [...]}}", where);
    json messages;
    if (j.contains("prompt") && j["prompt"].is_string()) {
      messages = json::array({{{"role", "user"}, {"content", j["prompt"]}}});
    } else if (j.contains("messages") && j["messages"].is_array() && !j["messages"].empty()) {
      messages = j["messages"];
      for (const json& m : messages)
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
            !m["content"].is_string())
          fail("{}: every message needs a string 'role' and 'content'", where);
      if (messages.back()["role"] == "assistant")
        fail("{}: the last message is the assistant's: nothing to answer", where);
    } else {
      fail("{}: expected a string 'prompt' or a non-empty 'messages' list", where);
    }
    items.push_back({.id = fmt::format("line/{}", line_no), .index = line_no, .messages = std::move(messages)});
  }
  if (items.empty()) fail("{}: no prompts", file.string());
  return items;
}

// The complete JSON lines of `file` (a torn last line, from a kill during a write, is dropped).
std::vector<json> read_lines(const fs::path& file, bool* torn) {
  std::vector<json> lines;
  std::error_code ec;
  if (!fs::exists(file, ec)) return lines;
  const std::string text = read_regular_file(file);
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    ++line_no;
    if (end == std::string::npos) {  // no newline: the write did not finish
      *torn = true;
      break;
    }
    const json j = json::parse(text.substr(pos, end - pos), nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("prompt_id") || !j["prompt_id"].is_string())
      fail("{}:{}: not a line this command writes (a JSON object with 'prompt_id')", file.string(), line_no);
    lines.push_back(j);
    pos = end + 1;
  }
  return lines;
}

// Appends lines and makes them durable before the progress record that claims them is written.
void append_durably(const fs::path& file, const std::string& text) {
  FILE* f = std::fopen(file.c_str(), "ab");
  if (!f) fail("{}: cannot open for appending", file.string());
  const bool ok =
      std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (!ok) fail("{}: write failed (disk full?)", file.string());
}

std::string line_of(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; }

// Resume: the prompts the progress file records as done. Traces of a prompt the progress file does not list
// (a kill between the two appends) are removed, so that prompt is redone without duplicates.
std::set<std::string> resume(const fs::path& out, const fs::path& progress_file) {
  bool torn = false;
  std::set<std::string> done;
  std::vector<json> progress = read_lines(progress_file, &torn);
  for (const json& p : progress) done.insert(p["prompt_id"].get<std::string>());
  bool out_torn = false;
  std::vector<json> traces = read_lines(out, &out_torn);
  const size_t before = traces.size();
  std::erase_if(traces, [&](const json& t) { return !done.count(t["prompt_id"].get<std::string>()); });
  if (torn) {
    std::string text;
    for (const json& p : progress) text += line_of(p);
    write_file_atomically(progress_file, [&](std::ostream& o) { o << text; });
  }
  if (out_torn || traces.size() != before) {
    std::string text;
    for (const json& t : traces) text += line_of(t);
    write_file_atomically(out, [&](std::ostream& o) { o << text; });
  }
  return done;
}

struct Sampled {
  std::vector<SampledToken> tokens;
  Completion completion;
};

// Runs the requests on the engine's thread and waits for all of them.
std::vector<Sampled> run_all(BatchEngine& engine, std::vector<EngineRequest> requests) {
  std::vector<Sampled> out(requests.size());
  std::mutex mutex;
  std::condition_variable cv;
  size_t n_done = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    engine.submit(std::move(requests[i]), {.on_token =
                                               [&, i](const SampledToken& t) {
                                                 out[i].tokens.push_back(t);
                                                 return true;
                                               },
                                           .on_done =
                                               [&, i](const Completion& c) {
                                                 std::lock_guard lock(mutex);
                                                 out[i].completion = c;
                                                 ++n_done;
                                                 cv.notify_all();
                                               }});
  }
  std::unique_lock lock(mutex);
  cv.wait(lock, [&] { return n_done == out.size(); });
  for (const Sampled& s : out)
    if (s.completion.finish == FinishReason::kError) fail("teacher generation failed: {}", s.completion.error);
  return out;
}

}  // namespace

DistillGenerateStats distill_generate(const DistillGenerateOptions& o) {
  if (o.samples < 1) fail("distill generate: --samples must be >= 1");
  if (o.out.empty()) fail("distill generate: --out is required");
  if (o.logprobs > kMaxTopLogprobs) fail("distill generate: --logprobs must be <= {}", kMaxTopLogprobs);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<rl::Task>> tasks;
  std::vector<PromptItem> items = o.prompts_file.empty() ? task_prompts(o, tasks) : file_prompts(o.prompts_file, o.n);
  const fs::path progress_file = o.out.string() + ".progress.jsonl";
  const std::set<std::string> done = resume(o.out, progress_file);
  DistillGenerateStats stats;
  std::erase_if(items, [&](const PromptItem& p) {
    const bool skip = done.count(p.id) > 0;
    stats.prompts_skipped += skip;
    return skip;
  });
  if (items.empty()) return stats;

  ThreadPool pool(o.threads);
  const ModelBundle teacher = ModelBundle::load(o.teacher, pool);
  const Tokenizer& tokenizer = *teacher.tokenizer;
  std::optional<rl::PromptEncoder> r1_zero;
  if (o.prompt.style == rl::PromptStyle::kR1Zero) {
    if (!o.prompts_file.empty()) fail("distill generate: --prompts needs the chat prompt style");
    r1_zero.emplace(tokenizer, o.prompt);
  } else {
    teacher.require_chat_template("distill generate (chat prompts)");
  }
  struct Encoded {
    std::vector<int32_t> ids;
    std::string prefix;
  };
  auto encode = [&](const PromptItem& p) -> Encoded {
    if (r1_zero) {
      rl::PromptEncoder::Encoded e = r1_zero->encode(*p.problem);
      return {std::move(e.ids), std::move(e.response_prefix)};
    }
    ChatPrompt c = teacher.chat_template->render_for_encoding(tokenizer, p.messages, /*add_generation_prompt=*/true);
    return {std::move(c.ids), rl::open_reasoning_prefix(c.text)};
  };
  size_t longest = 1;
  for (const PromptItem& p : items) longest = std::max(longest, encode(p).ids.size());
  BatchEngine engine(*teacher.model, {.n_slots = o.slots,
                                      .ctx = std::min<int64_t>(int64_t(longest) + o.max_new_tokens,
                                                               teacher.model->config().max_position),
                                      .vocab_limit = teacher.vocab_limit});
  engine.start();
  const std::string fingerprint = tokenizer_fingerprint(tokenizer);

  Progress progress("distill", double(items.size()), Progress::Unit::kCount, "prompts");
  for (size_t first = 0; first < items.size(); first += size_t(o.batch_prompts)) {
    const size_t last = std::min(items.size(), first + size_t(std::max<int64_t>(1, o.batch_prompts)));
    std::vector<EngineRequest> requests;
    std::vector<Encoded> encoded;
    for (size_t i = first; i < last; ++i) {
      encoded.push_back(encode(items[i]));
      for (int64_t s = 0; s < o.samples; ++s) {
        EngineRequest r{.prompt = encoded.back().ids,
                        .sampling = {.temperature = o.temperature, .top_p = o.top_p},
                        .max_new_tokens = o.max_new_tokens,
                        .stop_ids = teacher.stop_ids,
                        .logprobs = o.logprobs};
        // Fixed by the seed and the prompt's place in the sequence, so a resumed run draws the same samples.
        r.sampling.seed = o.seed * 1000003u + items[i].index * uint64_t(o.samples) + uint64_t(s);
        requests.push_back(std::move(r));
      }
    }
    const std::vector<Sampled> sampled = run_all(engine, std::move(requests));
    std::string traces, records;
    for (size_t i = first; i < last; ++i) {
      const PromptItem& item = items[i];
      std::map<std::string, int64_t> verdicts;
      int64_t kept = 0;
      for (int64_t s = 0; s < o.samples; ++s) {
        const Sampled& x = sampled[(i - first) * size_t(o.samples) + size_t(s)];
        const bool truncated = x.completion.finish != FinishReason::kStop;
        std::vector<int32_t> ids = x.completion.tokens;
        if (!truncated && !ids.empty()) ids.pop_back();  // the stop token
        const std::string response = encoded[i - first].prefix + tokenizer.decode(ids);
        const TraceVerdict v =
            judge_trace(item.task, item.problem ? &*item.problem : nullptr, response, truncated, o.filter);
        ++verdicts[trace_verdict_name(v)];
        if (v != TraceVerdict::kKept) continue;
        ++kept;
        json messages = item.messages;
        messages.push_back({{"role", "assistant"}, {"content", response}});
        json trace = {{"messages", std::move(messages)}, {"prompt_id", item.id}, {"sample", s}};
        if (item.task) trace["task"] = item.task->name();
        if (o.logprobs >= 0) {
          json top = json::array();
          for (size_t t = 0; t < ids.size(); ++t) {
            json row = json::array();
            for (const TokenLogprob& lp : x.tokens[t].top) row.push_back({lp.id, lp.logprob});
            top.push_back(std::move(row));
          }
          trace["teacher"] = {{"tokens", ids},
                              {"prompt_tokens", encoded[i - first].ids.size()},
                              {"top_logprobs", std::move(top)},
                              {"vocab", tokenizer.vocab_size()},
                              {"tokenizer", fingerprint}};
        }
        traces += line_of(trace);
      }
      records += line_of({{"prompt_id", item.id}, {"tried", o.samples}, {"kept", kept}, {"verdicts", verdicts}});
      stats.tried += o.samples;
      stats.kept += kept;
      ++stats.prompts_done;
    }
    if (!traces.empty()) append_durably(o.out, traces);
    append_durably(progress_file, records);
    progress.note(fmt::format("kept {} of {} traces ({:.0f}%)", stats.kept, stats.tried,
                              100.0 * double(stats.kept) / double(std::max<int64_t>(1, stats.tried))));
    progress.add(double(last - first));
  }
  progress.finish();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace whale::distill
