// whale forward --model DIR --input IN.safetensors --out OUT.safetensors [--hidden-states]
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/model.h"

namespace whale::cli {

void add_forward_command(CLI::App& app) {
  struct Options {
    std::string model, input, out;
    bool hidden_states = false;
    size_t threads = 0;
    bool mmap = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("forward", "Full causal forward of input_ids [B,T]; writes logits [B,T,vocab]");
  cmd->add_option("--model", opt->model, "checkpoint directory (hub layout)")->required();
  cmd->add_option("--input", opt->input, "safetensors file with input_ids (I64 [B,T])")->required();
  cmd->add_option("--out", opt->out, "output safetensors file")->required();
  cmd->add_flag("--hidden-states", opt->hidden_states, "also write hidden_states [layers+1,B,T,hidden]");
  add_threads_option(cmd, opt->threads);
  add_mmap_option(cmd, opt->mmap);
  cmd->callback([opt] {
    ThreadPool pool(opt->threads);
    std::unique_ptr<Model> model = Model::load(opt->model, pool, {.mmap = opt->mmap});
    const ModelConfig& c = model->config();
    InputIds in = read_input_ids(opt->input, c.vocab_size, c.max_position);
    const int64_t B = in.batch, T = in.seq;

    std::vector<float> logits, hidden;
    model->forward_full(in.tokens, B, T, {.mla_absorbed = false, .hidden_states = opt->hidden_states ? &hidden : nullptr},
                        logits);
    NamedTensors out;
    out.emplace_back("logits", Tensor::from_f32({B, T, c.vocab_size}, logits));
    if (opt->hidden_states) out.emplace_back("hidden_states", Tensor::from_f32({c.n_layer + 1, B, T, c.d_model}, hidden));
    write_safetensors(opt->out, out);
  });
}

}  // namespace whale::cli
