#include "model/gguf_export.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <regex>

#include "core/error.h"
#include "core/regular_file.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/safetensors.h"
#include "model/gguf_metadata.h"
#include "model/gguf_model.h"
#include "model/rope.h"
#include "model/weights.h"

namespace whale {
namespace {

namespace fs = std::filesystem;
using Metadata = GgufKeyValues;

constexpr GgufFileType kFileTypes[] = {
    {"F32", DType::F32, 0},      {"F16", DType::F16, 1},     {"BF16", DType::BF16, 32},
    {"Q8_0", DType::Q8_0, 7},    {"Q4_0", DType::Q4_0, 2},   {"Q4_K_M", DType::Q4_K, 15},
    {"Q5_K_M", DType::Q5_K, 17}, {"Q6_K", DType::Q6_K, 18},  {"IQ4_XS", DType::IQ4_XS, 30},
};

// One output tensor: its GGUF name and row-major shape, read as f32 in `parts` equal slices along dim 0
// (stacked experts and per-head matrices one at a time; everything else in one part).
struct OutTensor {
  std::string name;
  Shape shape;
  int64_t parts = 1;
  std::function<void(int64_t part, float* out)> read;  // writes numel / parts values
};

// ------------------------------------------------------------------------------------ llama-quantize's choices

bool use_more_bits(int64_t i_layer, int64_t n_layer) {
  return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

int64_t layer_of(const std::string& name) {
  static const std::regex kBlk(R"(blk\.(\d+)\..*)");
  std::smatch m;
  return std::regex_match(name, m, kBlk) ? std::stoll(m[1].str()) : -1;
}

struct TypeChooser {
  const GgufFileType& type;
  int64_t n_layer, n_expert, n_gqa;
  bool tied;
  int64_t n_attention_wv = 0, i_attention_wv = 0;

  // The per-tensor type llama-quantize picks for this file type without an importance matrix.
  DType choose(const OutTensor& t) {
    const std::string& name = t.name;
    const bool quantizable = t.shape.size() >= 2 && name.ends_with("weight") &&
                             name.find("_norm.weight") == std::string::npos &&
                             name.find("ffn_gate_inp.weight") == std::string::npos;
    if (!quantizable) return DType::F32;
    if (!is_block_quantized(type.base)) return type.base;
    const std::string_view ft = type.name;
    DType d = type.base;
    const bool attn_v = name.find("attn_v.weight") != std::string::npos || name.find("attn_qkv.weight") != std::string::npos ||
                        name.find("attn_kv_b.weight") != std::string::npos;
    if (name == "output.weight" || (tied && name == "token_embd.weight")) {
      if (t.shape.back() % dtype_traits(d).block_elems != 0) d = DType::Q8_0;
      else if (d != DType::Q8_0) d = DType::Q6_K;
    } else if (name == "token_embd.weight") {
      // the base type
    } else if (attn_v) {
      if (ft == "IQ4_XS" && n_gqa >= 4) d = DType::Q5_K;
      else if ((ft == "Q4_K_M" || ft == "Q5_K_M") && use_more_bits(i_attention_wv, n_attention_wv)) d = DType::Q6_K;
      if (n_expert == 8) d = DType::Q8_0;
      ++i_attention_wv;
    } else if (name.find("attn_k.weight") != std::string::npos) {
      if (n_expert == 8) d = DType::Q8_0;
    } else if (name.find("ffn_down") != std::string::npos) {
      const int64_t i = layer_of(name);
      if (ft == "Q4_K_M" && use_more_bits(i, n_layer)) d = DType::Q6_K;
      else if (ft == "IQ4_XS" && i < n_layer / 8) d = DType::Q5_K;
      else if (ft == "Q5_K_M" && use_more_bits(i, n_layer)) d = DType::Q6_K;
    } else if (name.find("attn_output.weight") != std::string::npos) {
      if (n_expert == 8 && (ft == "Q4_K_M" || ft == "IQ4_XS")) d = DType::Q5_K;
    }
    // Rows that are not whole blocks of the chosen type: the 32-element type of the same family.
    const int64_t cols = t.shape.back();
    if (cols % dtype_traits(d).block_elems != 0) {
      switch (d) {
        case DType::Q4_K: d = DType::Q5_0; break;
        case DType::Q5_K: d = DType::Q5_1; break;
        case DType::Q6_K: d = DType::Q8_0; break;
        case DType::IQ4_XS: d = DType::IQ4_NL; break;
        default: break;
      }
      if (cols % dtype_traits(d).block_elems != 0) d = DType::F16;
    }
    return d;
  }
};

// ------------------------------------------------------------------------------------ sources

struct Source {
  Metadata metadata;
  std::vector<OutTensor> tensors;
  int64_t n_layer = 0, n_expert = 0, n_gqa = 1;
  std::shared_ptr<void> keep_alive;  // what the read functions reference
};

// A GGUF model as it is: its metadata (without the keys the writer sets) and tensors.
Source gguf_source(const fs::path& path) {
  auto store = std::make_shared<GgufStore>(GgufStore::open(path));
  const ModelConfig c = gguf_model_config(*store);
  Source s;
  s.keep_alive = store;
  s.n_layer = c.n_layer;
  s.n_expert = c.n_routed_experts;
  s.n_gqa = c.is_mla() ? 1 : c.n_head / c.n_kv_head;
  for (const auto& [key, value] : store->metadata().values()) {
    if (key == "general.file_type" || key == "general.quantization_version" || key.starts_with("split.")) continue;
    s.metadata.push_back({key, value});
  }
  for (const std::shared_ptr<GgufFile>& file : store->files())
    for (const GgufTensorInfo& info : file->tensors()) {
      OutTensor t{info.name, info.shape(), info.ne.size() == 3 ? info.ne[2] : 1, {}};
      t.read = [store, name = info.name](int64_t part, float* out) {
        Tensor v = store->get(name);
        if (v.rank() == 3) v = v.slice(part);
        v.dequantize_into(out);  // numel / parts values
      };
      s.tensors.push_back(std::move(t));
    }
  return s;
}

// A hub checkpoint: the tensors of ModelWeights::visit under their GGUF names (stacked experts, kv_b_proj
// split into attn_k_b / attn_v_b, llama q/k rows in llama.cpp's order, llama3 RoPE as rope_freqs).
Source hub_source(const fs::path& dir, ThreadPool& pool) {
  struct Hub {
    ModelConfig config;
    TensorStore store;
    LoadedWeights weights;
  };
  auto hub = std::make_shared<Hub>(Hub{ModelConfig::load(dir), TensorStore::open(dir), {}});
  hub->weights = LoadedWeights::load(hub->config, SafetensorsWeightSource(hub->store), pool, {.mmap = true});
  const ModelConfig& c = hub->config;
  Source s;
  s.keep_alive = hub;
  s.n_layer = c.n_layer;
  s.n_expert = c.n_routed_experts;
  s.n_gqa = c.is_mla() ? 1 : c.n_head / c.n_kv_head;
  s.metadata = gguf_metadata_for(c, dir);

  auto matrices = [](std::vector<const MatrixView*> views) {  // parts: one matrix each
    return [views](int64_t part, float* out) { views[size_t(part)]->dequantize_rows(0, views[size_t(part)]->rows, out); };
  };
  if (c.arch == Arch::Llama && c.rope.scaling == RopeScaling::Llama3) {
    // llama.cpp divides rotation frequency i by factor i: the unscaled over the scaled inverse frequency.
    RopeConfig plain = c.rope;
    plain.scaling = RopeScaling::None;
    const Rope scaled(c.rope, c.d_head, RopeLayout::NeoX), unscaled(plain, c.d_head, RopeLayout::NeoX);
    std::vector<float> factors(size_t(c.d_head / 2));
    for (size_t i = 0; i < factors.size(); ++i) factors[i] = unscaled.inv_freq()[i] / scaled.inv_freq()[i];
    s.tensors.push_back({"rope_freqs.weight", {c.d_head / 2}, 1, [factors](int64_t, float* out) {
                           std::copy(factors.begin(), factors.end(), out);
                         }});
  }
  std::map<std::string, size_t> stacked;  // ffn_*_exps name → index in s.tensors
  ModelWeights& W = hub->weights.weights;
  W.visit(c, [&](const ModelWeights::Slot& slot) {
    const GgufName g = gguf_name_of(slot.name);
    if (const auto* v = std::get_if<VectorView*>(&slot.target)) {
      const VectorView* view = *v;
      OutTensor t{g.name, slot.shape, 1, [view](int64_t, float* out) { std::copy(view->data, view->data + view->size, out); }};
      if (g.rope_permuted && c.arch == Arch::Llama)
        t.read = [view, d = c.d_head](int64_t, float* out) {
          Tensor hub_order = Tensor::from_f32({view->size}, {view->data, size_t(view->size)});
          Tensor p = permute_rope_rows(hub_order, d, /*to_gguf=*/true);
          std::copy(p.data<float>(), p.data<float>() + view->size, out);
        };
      s.tensors.push_back(std::move(t));
      return;
    }
    const MatrixView* m = *std::get_if<MatrixView*>(&slot.target);
    if (g.expert >= 0) {
      if (stacked.emplace(g.name, s.tensors.size()).second)  // its read function is set below
        s.tensors.push_back({g.name, {c.n_routed_experts, m->rows, m->cols}, c.n_routed_experts, {}});
      return;
    }
    if (g.name.empty()) {  // kv_b_proj: GGUF stores its absorbed halves
      const int64_t layer = std::stoll(slot.name.substr(std::string("model.layers.").size()));
      const MlaWeights& mla = W.layers[size_t(layer)].mla;
      std::vector<const MatrixView*> uk, uv;
      for (size_t h = 0; h < mla.w_uk_t.size(); ++h) uk.push_back(&mla.w_uk_t[h]), uv.push_back(&mla.w_uv[h]);
      const std::string blk = "blk." + std::to_string(layer) + ".";
      s.tensors.push_back({blk + "attn_k_b.weight", {c.n_head, c.kv_lora_rank, c.qk_nope_head_dim}, c.n_head, matrices(uk)});
      s.tensors.push_back({blk + "attn_v_b.weight", {c.n_head, c.v_head_dim, c.kv_lora_rank}, c.n_head, matrices(uv)});
      return;
    }
    OutTensor t{g.name, slot.shape, 1, matrices({m})};
    if (g.rope_permuted && c.arch == Arch::Llama)
      t.read = [m, d = c.d_head](int64_t, float* out) {
        std::vector<float> hub_order(size_t(m->rows * m->cols));
        m->dequantize_rows(0, m->rows, hub_order.data());
        Tensor p = permute_rope_rows(Tensor::from_f32({m->rows, m->cols}, hub_order), d, /*to_gguf=*/true);
        std::copy(p.data<float>(), p.data<float>() + hub_order.size(), out);
      };
    s.tensors.push_back(std::move(t));
  });
  // Stacked experts read expert e's matrix of the same projection.
  for (const auto& [name, index] : stacked) {
    static const std::regex kExps(R"(blk\.(\d+)\.ffn_(gate|up|down)_exps\.weight)");
    std::smatch m;
    WHALE_CHECK(std::regex_match(name, m, kExps));
    const MoeWeights& moe = W.layers[size_t(std::stoll(m[1].str()))].moe;
    const std::string proj = m[2].str();
    std::vector<const MatrixView*> views;
    for (const MlpWeights& e : moe.experts)
      views.push_back(proj == "gate" ? &e.gate.w : proj == "up" ? &e.up.w : &e.down.w);
    s.tensors[index].read = matrices(views);
  }
  return s;
}

}  // namespace

const GgufFileType& parse_gguf_file_type(std::string_view name) {
  for (const GgufFileType& t : kFileTypes)
    if (t.name == name) return t;
  std::string list;
  for (const GgufFileType& t : kFileTypes) list += (list.empty() ? "" : ", ") + std::string(t.name);
  fail("--type {}: unsupported (supported: {})", name, list);
}

void quantize_to_gguf(const fs::path& model, const fs::path& out, const GgufFileType& type, ThreadPool& pool,
                      const std::function<void(const QuantizeProgress&)>& on_tensor) {
  std::error_code ec;
  const bool hub = fs::is_directory(model, ec) && fs::exists(model / "config.json", ec);
  if (!hub && !GgufStore::find_model_file(model))
    fail("{}: not a model: expected a hub checkpoint directory (config.json + model.safetensors) or a GGUF file",
         model.string());
  if (fs::exists(out, ec) && fs::equivalent(model, out, ec)) fail("{}: output would overwrite the input", out.string());
  require_replaceable_file(out);  // before the source is read (GgufWriter checks again)
  Source src = hub ? hub_source(model, pool) : gguf_source(model);

  TypeChooser chooser{type, src.n_layer, src.n_expert, src.n_gqa, true};
  for (const OutTensor& t : src.tensors) {
    if (t.name == "output.weight") chooser.tied = false;
    if (t.name.find("attn_v.weight") != std::string::npos || t.name.find("attn_kv_b.weight") != std::string::npos)
      ++chooser.n_attention_wv;
  }
  std::vector<GgufTensorSpec> specs;
  for (const OutTensor& t : src.tensors) specs.push_back({t.name, chooser.choose(t), t.shape});

  Metadata meta = std::move(src.metadata);
  meta.push_back({"general.quantization_version", gguf_int(GgufValueType::U32, 2)});
  meta.push_back({"general.file_type", gguf_int(GgufValueType::U32, type.file_type)});
  GgufWriter writer(out, meta, specs);
  std::vector<float> values;
  std::vector<char> bytes;
  for (size_t i = 0; i < src.tensors.size(); ++i) {
    const OutTensor& t = src.tensors[i];
    const DTypeTraits& traits = dtype_traits(specs[i].dtype);
    if (on_tensor) on_tensor({i, src.tensors.size(), t.name, specs[i].dtype});
    const int64_t cols = t.shape.back();
    const int64_t part_elems = shape_numel(t.shape) / t.parts, rows = part_elems / cols;
    const size_t row_bytes = dtype_nbytes(specs[i].dtype, cols);
    values.resize(size_t(part_elems));
    bytes.resize(size_t(rows) * row_bytes);
    for (int64_t p = 0; p < t.parts; ++p) {
      t.read(p, values.data());
      pool.parallel_for(size_t(rows), 16, [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; ++r)
          traits.quantize_row(values.data() + r * size_t(cols), bytes.data() + r * row_bytes, cols);
      });
      writer.write_tensor(bytes.data(), bytes.size());
    }
  }
  writer.finish();
}

}  // namespace whale
