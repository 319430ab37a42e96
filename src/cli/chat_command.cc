// whale chat --model DIR [QUESTION...]: a conversation in the terminal with the checkpoint's chat template.
// Interactive when stdin is a terminal and no question is given (commands: /help); otherwise one answer to
// the question (the arguments, or all of stdin) and exit. Reasoning (<think>...</think>) is shown dimmed,
// or collapsed with --hide-reasoning; Ctrl-C stops the answer being written, not the program.
#include <fmt/format.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>

#include "cli/chat_session.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/closest_match.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "io/json_file.h"

namespace whale::cli {

namespace {

std::atomic<bool> g_interrupted{false};
int g_interrupt_pipe[2] = {-1, -1};  // the handler writes a byte: a reader waiting in poll() wakes up

extern "C" void on_sigint(int) {
  g_interrupted.store(true);
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(g_interrupt_pipe[1], &byte, 1);
}

// SIGINT sets g_interrupted (which stops an answer being written) and wakes read_line (the self-pipe trick:
// a Ctrl-C that lands between printing the prompt and waiting for input is not lost).
void catch_sigint() {
  if (::pipe(g_interrupt_pipe) != 0) fail("chat: cannot create a pipe");
  for (int fd : g_interrupt_pipe) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

// Forgets Ctrl-C presses so far; true if there was one.
bool take_interrupt() {
  char buf[64];
  while (::read(g_interrupt_pipe[0], buf, sizeof buf) > 0) {
  }
  return g_interrupted.exchange(false);
}

enum class Input { kLine, kEnd, kInterrupted };

// One line of stdin (without its newline), or kInterrupted when Ctrl-C is pressed while waiting.
Input read_line(std::string& line) {
  line.clear();
  for (char c;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {g_interrupt_pipe[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return Input::kEnd;
    }
    if (fds[1].revents & POLLIN) {
      if (take_interrupt()) return Input::kInterrupted;
      continue;
    }
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n == 1) {
      if (c == '\n') return Input::kLine;
      line += c;
    } else if (n == 0) {
      return line.empty() ? Input::kEnd : Input::kLine;
    } else if (errno != EINTR && errno != EAGAIN) {
      return Input::kEnd;
    }
  }
}

std::string read_all_stdin() {
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = ::read(STDIN_FILENO, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("chat: cannot read stdin");
    }
    text.append(buf, size_t(n));
  }
  return text;
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1));
}

// ANSI styling, only on a terminal (and not with NO_COLOR set).
struct Style {
  bool on = false;
  const char* dim() const { return on ? "\x1b[2m" : ""; }
  const char* bold() const { return on ? "\x1b[1m" : ""; }
  const char* reset() const { return on ? "\x1b[0m" : ""; }
};

struct View {
  Style style;
  bool show_reasoning = true;
  bool interactive = false;
};

// Streams one reply to stdout and reports its statistics.
void answer(ChatSession& session, const std::string& question, const View& view) {
  const Style& st = view.style;
  enum class Part { kNone, kReasoning, kContent } part = Part::kNone;
  auto on_delta = [&](const server::ReasoningSplitter::Delta& d) {
    if (!d.reasoning.empty()) {
      if (part == Part::kNone) {
        if (view.show_reasoning)
          std::printf("%s%s", st.dim(), st.on ? "" : "<think>\n");
        else if (st.on)
          std::printf("%sthinking…%s", st.dim(), st.reset());
        part = Part::kReasoning;
      }
      if (view.show_reasoning) std::printf("%s", d.reasoning.c_str());
    }
    if (!d.content.empty()) {
      if (part == Part::kReasoning) {
        if (view.show_reasoning)
          std::printf("%s%s\n\n", st.on ? "" : "\n</think>", st.reset());
        else if (st.on)
          std::printf("\r\x1b[K");  // the "thinking…" line collapses
      }
      part = Part::kContent;
      std::printf("%s", d.content.c_str());
    }
    std::fflush(stdout);
  };
  take_interrupt();
  const ChatReply r = session.ask(question, on_delta, g_interrupted);
  take_interrupt();  // the Ctrl-C that stopped this answer is spent
  if (part == Part::kReasoning) {  // the reply ended inside its reasoning
    if (view.show_reasoning)
      std::printf("%s%s", st.on ? "" : "\n</think>", st.reset());
    else if (st.on)
      std::printf("\r\x1b[K");
  }
  std::printf("\n");
  std::fflush(stdout);
  std::string notes;
  if (r.interrupted) notes += ", stopped";
  if (r.length) notes += ", cut at the token limit";
  if (r.dropped_turns) notes += fmt::format(", {} earliest exchange(s) left out to fit the context", r.dropped_turns);
  const double tps = r.new_tokens > 1 && r.decode_seconds > 0 ? double(r.new_tokens - 1) / r.decode_seconds : 0.0;
  const std::string line = fmt::format("[{} tokens, {:.1f} tokens/s, first token after {:.2f} s{}]", r.new_tokens, tps,
                                       r.prefill_seconds, notes);
  if (view.interactive) {
    std::printf("%s%s%s\n", st.dim(), line.c_str(), st.reset());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stdout);
}

constexpr std::string_view kCommands[] = {"/help", "/reset", "/system", "/set",  "/show",
                                          "/save", "/load",  "/quit",   "/exit", "/bye"};

void print_help() {
  std::printf(
      "  /reset              forget the conversation (the system prompt stays)\n"
      "  /system TEXT        set the system prompt (empty: none)\n"
      "  /set NAME VALUE     temperature, top_p, top_k, min_p, seed, max_tokens, reasoning (show|hide)\n"
      "  /set                show the settings\n"
      "  /show               the last answer's reasoning\n"
      "  /save FILE          write the conversation as JSON;  /load FILE  read one back\n"
      "  /quit               leave (also /exit, /bye, Ctrl-D)\n"
      "  Multi-line input: end a line with \\ to continue it, or enclose the text in \"\"\" lines.\n"
      "  Ctrl-C stops the answer being written.\n");
}

void set_value(ChatSession& session, View& view, const std::string& name, const std::string& value) {
  ChatSettings& s = session.settings();
  auto number = [&]() {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size()) fail("/set {}: '{}' is not a number", name, value);
    return v;
  };
  SamplingParams p = s.sampling;
  if (name == "temperature")
    p.temperature = float(number());
  else if (name == "top_p")
    p.top_p = float(number());
  else if (name == "min_p")
    p.min_p = float(number());
  else if (name == "top_k")
    p.top_k = int64_t(number());
  else if (name == "seed")
    p.seed = uint64_t(number());
  else if (name == "max_tokens") {
    const double v = number();
    if (v < 1) fail("/set max_tokens: must be >= 1");
    s.max_new_tokens = int64_t(v);
  } else if (name == "reasoning") {
    if (value != "show" && value != "hide") fail("/set reasoning: show or hide");
    view.show_reasoning = value == "show";
  } else {
    constexpr std::string_view names[] = {"temperature", "top_p", "top_k", "min_p", "seed", "max_tokens", "reasoning"};
    const std::string best = closest_match(name, names);
    fail("/set: unknown setting '{}'{}", name, best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best));
  }
  p.validate();
  s.sampling = p;
}

void print_settings(const ChatSession& session, const View& view) {
  const ChatSettings& c = session.settings();
  std::printf("  temperature %g  top_p %g  top_k %lld  min_p %g  seed %llu  max_tokens %lld  reasoning %s\n",
              c.sampling.temperature, c.sampling.top_p, (long long)c.sampling.top_k, c.sampling.min_p,
              (unsigned long long)c.sampling.seed, (long long)c.max_new_tokens, view.show_reasoning ? "show" : "hide");
  std::printf("  system: %s\n", c.system.empty() ? "(none)" : c.system.c_str());
}

// Returns false for /quit.
bool run_command(ChatSession& session, View& view, const std::string& input) {
  const size_t space = input.find_first_of(" \t");
  const std::string cmd = input.substr(0, space);
  const std::string arg = space == std::string::npos ? "" : trim(input.substr(space));
  if (cmd == "/quit" || cmd == "/exit" || cmd == "/bye") return false;
  if (cmd == "/help" || cmd == "/?") {
    print_help();
  } else if (cmd == "/reset" || cmd == "/clear") {
    session.reset();
    std::printf("(conversation cleared)\n");
  } else if (cmd == "/system") {
    session.settings().system = arg;
    std::printf(arg.empty() ? "(no system prompt)\n" : "(system prompt set)\n");
  } else if (cmd == "/set") {
    if (arg.empty()) {
      print_settings(session, view);
    } else {
      const size_t sp = arg.find_first_of(" \t");
      if (sp == std::string::npos) fail("/set {}: give a value (e.g. /set temperature 0.7)", arg);
      set_value(session, view, arg.substr(0, sp), trim(arg.substr(sp)));
    }
  } else if (cmd == "/show") {
    const nlohmann::json& m = session.messages();
    if (m.empty() || !m.back().contains("reasoning_content"))
      std::printf("(no reasoning in the last answer)\n");
    else
      std::printf("%s%s%s\n", view.style.dim(), m.back()["reasoning_content"].get<std::string>().c_str(),
                  view.style.reset());
  } else if (cmd == "/save") {
    if (arg.empty()) fail("/save: give a file name");
    const std::string text = session.to_json().dump(2) + "\n";
    write_file_atomically(arg, [&](std::ostream& out) { out << text; });
    std::printf("(saved %zu messages to %s)\n", session.messages().size(), arg.c_str());
  } else if (cmd == "/load") {
    if (arg.empty()) fail("/load: give a file name");
    session.load(read_json_file(arg), arg);
    std::printf("(loaded %zu messages from %s)\n", session.messages().size(), arg.c_str());
  } else {
    const std::string best = closest_match(cmd, kCommands);
    fail("unknown command {}{} (/help lists them)", cmd, best.empty() ? "" : fmt::format("; did you mean {}?", best));
  }
  return true;
}

// One message from the terminal: a line, lines joined by a trailing backslash, or a """ block.
Input read_message(std::string& message, const Style& st) {
  message.clear();
  std::string line;
  Input in = read_line(line);
  if (in != Input::kLine) return in;
  if (trim(line) == "\"\"\"") {
    while (true) {
      std::printf("%s... %s", st.dim(), st.reset());
      std::fflush(stdout);
      in = read_line(line);
      if (in != Input::kLine) return in;
      if (trim(line) == "\"\"\"") return Input::kLine;
      message += (message.empty() ? "" : "\n") + line;
    }
  }
  while (!line.empty() && line.back() == '\\') {
    line.pop_back();
    message += line + "\n";
    std::printf("%s... %s", st.dim(), st.reset());
    std::fflush(stdout);
    in = read_line(line);
    if (in != Input::kLine) return in;
  }
  message += line;
  return Input::kLine;
}

void interactive(ChatSession& session, View& view, const std::string& name) {
  const Style& st = view.style;
  std::printf("%swhale chat%s with %s. /help for commands; Ctrl-C stops an answer; /quit or Ctrl-D leaves.\n",
              st.bold(), st.reset(), name.c_str());
  for (std::string message;;) {
    std::printf("%s>>> %s", st.bold(), st.reset());
    std::fflush(stdout);
    const Input in = read_message(message, st);
    if (in == Input::kEnd) {
      std::printf("\n");
      return;
    }
    if (in == Input::kInterrupted) {
      std::printf("\n(use /quit or Ctrl-D to leave)\n");
      continue;
    }
    const std::string text = trim(message);
    if (text.empty()) continue;
    try {
      if (text.starts_with('/') && text.find('\n') == std::string::npos) {
        if (!run_command(session, view, text)) return;
      } else {
        answer(session, text, view);
      }
    } catch (const Error& e) {
      std::printf("%serror:%s %s\n", st.bold(), st.reset(), e.what());
    }
  }
}

}  // namespace

void add_chat_command(CLI::App& app) {
  struct Options {
    std::string model, system;
    std::vector<std::string> question;
    SamplingFlags sampling;
    int64_t max_new_tokens = 2048, ctx = 4096;
    bool hide_reasoning = false;
    size_t threads = 0;
    bool mmap = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("chat", "Chat with a model in the terminal (or answer one question)");
  cmd->add_option("--model", opt->model, "checkpoint directory or .gguf file")->required();
  cmd->add_option("question", opt->question, "ask this one question and exit (stdin that is not a terminal: the same)");
  cmd->add_option("--system", opt->system, "system prompt");
  opt->sampling.add(cmd, {.temperature = 0.6f, .top_p = 0.95f}, /*random_seed=*/true);
  CLI::Option* max_new = cmd->add_option("-n,--max-new-tokens", opt->max_new_tokens,
                                         "longest answer in tokens (default: generation_config.json, else this)")
                             ->check(CLI::Range(int64_t(1), int64_t(1) << 24))
                             ->capture_default_str();
  cmd->add_option("--ctx", opt->ctx, "tokens one conversation may hold (capped by the model's context)")
      ->check(CLI::Range(int64_t(16), int64_t(1) << 24))
      ->capture_default_str();
  cmd->add_flag("--hide-reasoning", opt->hide_reasoning,
                "collapse the reasoning into a 'thinking…' line (/show prints it)");
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt, max_new] {
    const bool one_shot = !opt->question.empty() || !::isatty(STDIN_FILENO);
    std::string question;
    if (one_shot) {
      if (!opt->question.empty()) {
        for (const std::string& w : opt->question) question += (question.empty() ? "" : " ") + w;
      } else {
        question = trim(read_all_stdin());
      }
      if (trim(question).empty()) fail("chat: no question (give it as an argument or on stdin)");
    }
    ThreadPool pool(opt->threads);
    if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "loading %s…\n", opt->model.c_str());
    ModelBundle bundle = ModelBundle::load(opt->model, pool, {.load = {.mmap = opt->mmap}});
    for (const std::string& key : bundle.generation.ignored)
      std::fprintf(stderr, "whale chat: generation_config.json %s is not applied (not supported yet)\n", key.c_str());
    SamplingParams fallback{.temperature = 0.6f, .top_p = 0.95f, .seed = std::random_device{}()};
    ChatSettings settings{.sampling = opt->sampling.resolve(bundle.generation, fallback),
                          .adjust = opt->sampling.adjust(bundle.generation),
                          .max_new_tokens = max_new->count()
                                                ? opt->max_new_tokens
                                                : bundle.generation.max_new_tokens.value_or(opt->max_new_tokens),
                          .ctx = opt->ctx,
                          .system = opt->system};
    ChatSession session(bundle, settings);
    View view{.style = {.on = ::isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR")},
              .show_reasoning = !opt->hide_reasoning,
              .interactive = !one_shot};
    catch_sigint();
    if (one_shot) {
      answer(session, question, view);
    } else {
      interactive(session, view, std::filesystem::path(opt->model).lexically_normal().filename().string());
    }
  });
}

}  // namespace whale::cli
