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
    TensorStore input = TensorStore::open(opt->input);
    if (!input.has("input_ids")) fail("{}: no tensor 'input_ids'", opt->input);
    Tensor ids = input.get("input_ids");
    if (ids.rank() != 2 || (ids.dtype() != DType::I64 && ids.dtype() != DType::I32))
      fail("{}: input_ids must be I64 [B, T], got {} {}", opt->input, dtype_name(ids.dtype()), shape_str(ids.shape()));
    const int64_t B = ids.dim(0), T = ids.dim(1);
    if (B <= 0 || T <= 0) fail("{}: input_ids is empty", opt->input);

    ThreadPool pool(opt->threads);
    std::unique_ptr<Model> model = Model::load(opt->model, pool, {.mmap = opt->mmap});
    const ModelConfig& c = model->config();
    if (T > c.max_position) fail("{}: sequence length {} exceeds max_position_embeddings {}", opt->input, T, c.max_position);
    std::vector<int64_t> raw = ids.i64_values();
    std::vector<int32_t> tokens(raw.begin(), raw.end());
    for (int64_t id : raw)
      if (id < 0 || id >= c.vocab_size) fail("{}: token id {} outside the vocabulary (size {})", opt->input, id, c.vocab_size);

    std::vector<float> logits, hidden;
    model->forward_full(tokens, B, T, {.mla_absorbed = false, .hidden_states = opt->hidden_states ? &hidden : nullptr},
                        logits);
    NamedTensors out;
    out.emplace_back("logits", Tensor::from_f32({B, T, c.vocab_size}, logits));
    if (opt->hidden_states) out.emplace_back("hidden_states", Tensor::from_f32({c.n_layer + 1, B, T, c.d_model}, hidden));
    write_safetensors(opt->out, out);
  });
}

}  // namespace whale::cli
