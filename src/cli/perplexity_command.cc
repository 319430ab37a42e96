// whale perplexity --model M --input FILE [--kl-reference REF] [--ctx N] [--stride S] [--tokenizer T]
//   [--max-chunks K] [--threads N] [--mmap]: perplexity of M on a UTF-8 text file and, with --kl-reference,
//   the KL divergence of M's next-token distributions from REF's (e.g. REF the BF16 model, M a quantization
//   of it), as llama-perplexity [--kl-divergence] reports them; engine/perplexity.h defines every number.
//   The text is tokenized as llama-perplexity does: BOS first when the vocabulary adds it (it then also
//   replaces the first token of every chunk). One JSON line per chunk on stderr (running values, with
//   "chunk"), the summary on stdout.
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/regular_file.h"
#include "engine/perplexity.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace whale::cli {
namespace {

std::string read_text(const std::string& file) {
  std::string text = read_regular_file(file);
  if (text.empty()) fail("{}: the text file is empty", file);
  utf8::require_valid(text, file);
  return text;
}

nlohmann::json stats_json(const PerplexityStats& s) {
  nlohmann::json j{{"perplexity", s.perplexity.value}, {"ppl_stderr", s.perplexity.error}, {"tokens", s.tokens},
                   {"chunks", s.chunks}, {"ctx", s.ctx}, {"seconds", s.seconds}};
  if (!s.has_reference) return j;
  j["ref_perplexity"] = s.ref_perplexity.value;
  j["ref_ppl_stderr"] = s.ref_perplexity.error;
  j["ppl_ratio_minus_1"] = s.ppl_ratio_minus_1.value;
  j["ppl_ratio_stderr"] = s.ppl_ratio_minus_1.error;
  j["kl_divergence"] = s.kl.value;
  j["kl_stderr"] = s.kl.error;
  j["kl_max"] = s.kl_max;
  j["kl_p99"] = s.kl_p99;
  j["same_top_p"] = s.same_top_p.value;
  j["same_top_p_stderr"] = s.same_top_p.error;
  return j;
}

}  // namespace

void add_perplexity_command(CLI::App& app) {
  struct Options {
    std::string model, input, reference, tokenizer;
    PerplexityOptions run;
    size_t threads = 0;
    bool mmap = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "perplexity", "Perplexity on a text file; with --kl-reference, KL divergence and top-1 agreement vs a reference");
  cmd->add_option("--model", opt->model, "model: hub checkpoint directory or .gguf file")->required();
  cmd->add_option("--input", opt->input, "UTF-8 text file")->required();
  cmd->add_option("--kl-reference", opt->reference,
                  "reference model (e.g. the BF16 one): report KL(P_ref || P_model), its perplexity, top-1 agreement");
  cmd->add_option("--ctx", opt->run.ctx, "tokens per chunk (0: min(512, the model's context))");
  cmd->add_option("--stride", opt->run.stride,
                  "0: llama-perplexity chunks (score tokens ctx/2+1 .. ctx-1 of each); S: windows every S tokens, "
                  "scoring their last S tokens");
  cmd->add_option("--max-chunks", opt->run.max_chunks, "score at most K chunks (0: all)");
  cmd->add_option("--tokenizer", opt->tokenizer, "tokenizer directory or .gguf file (default: the model's)");
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt] {
    const std::string text = read_text(opt->input);
    const Tokenizer tokenizer = Tokenizer::load(opt->tokenizer.empty() ? opt->model : opt->tokenizer);
    std::vector<int32_t> ids;
    if (tokenizer.add_bos_token() && tokenizer.bos_id() >= 0) {
      ids.push_back(tokenizer.bos_id());
      opt->run.bos_id = tokenizer.bos_id();
    }
    const std::vector<int32_t> encoded = tokenizer.encode(text);
    ids.insert(ids.end(), encoded.begin(), encoded.end());

    ThreadPool pool(opt->threads);
    std::unique_ptr<Model> model = Model::load(opt->model, pool, {.mmap = opt->mmap});
    std::unique_ptr<Model> reference;
    if (!opt->reference.empty()) reference = Model::load(opt->reference, pool, {.mmap = opt->mmap});
    const PerplexityStats stats = perplexity(*model, reference.get(), ids, opt->run, [](const PerplexityStats& s) {
      nlohmann::json j = stats_json(s);
      j.erase("chunks");
      j["chunk"] = s.chunks;
      j["of"] = s.total_chunks;
      std::fprintf(stderr, "%s\n", j.dump().c_str());
    });
    std::printf("%s\n", stats_json(stats).dump().c_str());
  });
}

}  // namespace whale::cli
