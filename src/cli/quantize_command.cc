// whale quantize --model DIR|FILE.gguf --type Q4_K_M --out FILE.gguf [--threads N]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "model/gguf_export.h"

namespace whale::cli {

void add_quantize_command(CLI::App& app) {
  struct Options {
    std::string model, out, type;
    size_t threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "quantize", "Write a model (hub checkpoint directory or GGUF) as a GGUF file: converted or quantized");
  cmd->add_option("--model", opt->model, "hub checkpoint directory or .gguf file")->required();
  cmd->add_option("--type", opt->type, "F32, F16, BF16, Q8_0, Q4_0, Q4_K_M, Q5_K_M, Q6_K or IQ4_XS")->required();
  cmd->add_option("--out", opt->out, "output .gguf file (written atomically)")->required();
  add_threads_option(cmd, opt->threads);
  cmd->callback([opt] {
    const GgufFileType& type = parse_gguf_file_type(opt->type);
    ThreadPool pool(opt->threads);
    const bool tty = ::isatty(STDERR_FILENO);
    const auto start = std::chrono::steady_clock::now();
    quantize_to_gguf(opt->model, opt->out, type, pool, [&](const QuantizeProgress& p) {
      // A terminal gets one line rewritten in place; logs get a plain line per tensor.
      std::fprintf(stderr, tty ? "\r\033[K[%zu/%zu] %s → %s" : "[%zu/%zu] %s -> %s\n", p.tensor + 1, p.n_tensors,
                   p.name.c_str(), std::string(dtype_name(p.dtype)).c_str());
    });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "%swrote %s (%s) in %.1f s\n", tty ? "\r\033[K" : "", opt->out.c_str(),
                 std::string(type.name).c_str(), seconds);
  });
}

}  // namespace whale::cli
