// whale grad --model DIR --input IN.safetensors --out OUT.safetensors
// Mean next-token cross-entropy of input_ids [B,T] and its gradient for every trained tensor.
#include <memory>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "train/autograd/ops.h"
#include "train/transformer.h"

namespace whale::cli {

void add_grad_command(CLI::App& app) {
  struct Options {
    std::string model, input, out;
    size_t threads = 0;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("grad", "Loss of input_ids [B,T] and d loss / d weight for every trained tensor");
  cmd->add_option("--model", opt->model, "checkpoint directory (hub layout)")->required();
  cmd->add_option("--input", opt->input, "safetensors file with input_ids (I64 [B,T])")->required();
  cmd->add_option("--out", opt->out, "output safetensors file: loss [1] and grad.<name>")->required();
  add_threads_option(cmd, opt->threads);
  cmd->callback([opt] {
    ParamSet params = ParamSet::from_checkpoint(opt->model);
    const ModelConfig& c = params.config();
    InputIds in = read_input_ids(opt->input, c.vocab_size, c.max_position);
    if (in.seq < 2) fail("{}: next-token loss needs sequences of at least 2 tokens, got {}", opt->input, in.seq);

    ThreadPool pool(opt->threads);
    ag::Graph g(pool);
    Transformer model(params);
    TrainForward f = model.forward(g, in.tokens, in.batch);
    ag::Var loss = ag::cross_entropy(g, f.logits, shifted_targets(in.tokens, in.batch, 1));
    g.backward(loss);

    NamedTensors out;
    out.emplace_back("loss", Tensor::from_f32({1}, std::vector<float>{g.item(loss)}));
    for (const Param& p : params.params())
      if (p.trained) out.emplace_back("grad." + p.name, Tensor::from_f32(p.shape, p.grad));
    write_safetensors(opt->out, out);
  });
}

}  // namespace whale::cli
