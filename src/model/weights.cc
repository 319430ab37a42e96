#include "model/weights.h"

#include <cstring>
#include <optional>

#include "core/error.h"
#include "core/huge_pages.h"
#include "core/progress.h"

namespace whale {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

void ModelWeights::visit(const ModelConfig& c, const std::function<void(const Slot&)>& fn) {
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols, MatrixView* m, bool trained = true) {
    fn(Slot{name, {rows, cols}, m, trained});
  };
  auto vector = [&](const std::string& name, int64_t n, VectorView* v, bool trained = true) {
    fn(Slot{name, {n}, v, trained});
  };
  auto linear = [&](const std::string& name, int64_t out, int64_t in, Linear* l, bool bias) {
    matrix(name + ".weight", out, in, &l->w);
    if (bias) vector(name + ".bias", out, &l->b);
  };
  auto mlp = [&](const std::string& name, int64_t d_ff, MlpWeights* m, bool bias) {
    linear(name + ".gate_proj", d_ff, c.d_model, &m->gate, bias);
    linear(name + ".up_proj", d_ff, c.d_model, &m->up, bias);
    linear(name + ".down_proj", c.d_model, d_ff, &m->down, bias);
  };

  layers.resize(size_t(c.n_layer));
  matrix("model.embed_tokens.weight", c.vocab_size, c.d_model, &embed);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    LayerWeights& L = layers[size_t(i)];
    std::string p = "model.layers." + std::to_string(i) + ".";
    vector(p + "input_layernorm.weight", c.d_model, &L.attn_norm);
    vector(p + "post_attention_layernorm.weight", c.d_model, &L.ffn_norm);
    std::string a = p + "self_attn.";
    if (c.is_mla()) {
      int64_t q_out = c.n_head * c.qk_head_dim();
      if (c.q_lora_rank > 0) {
        linear(a + "q_a_proj", c.q_lora_rank, c.d_model, &L.mla.q_a, false);
        vector(a + "q_a_layernorm.weight", c.q_lora_rank, &L.mla.q_a_norm);
        linear(a + "q_b_proj", q_out, c.q_lora_rank, &L.mla.q_b, false);
      } else {
        linear(a + "q_proj", q_out, c.d_model, &L.mla.q, false);
      }
      linear(a + "kv_a_proj_with_mqa", c.kv_lora_rank + c.qk_rope_head_dim, c.d_model, &L.mla.kv_a, false);
      vector(a + "kv_a_layernorm.weight", c.kv_lora_rank, &L.mla.kv_a_norm);
      linear(a + "kv_b_proj", c.n_head * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank, &L.mla.kv_b, false);
      linear(a + "o_proj", c.d_model, c.n_head * c.v_head_dim, &L.mla.o, false);
    } else {
      linear(a + "q_proj", c.n_head * c.d_head, c.d_model, &L.gqa.q, c.qkv_bias);
      linear(a + "k_proj", c.n_kv_head * c.d_head, c.d_model, &L.gqa.k, c.qkv_bias);
      linear(a + "v_proj", c.n_kv_head * c.d_head, c.d_model, &L.gqa.v, c.qkv_bias);
      linear(a + "o_proj", c.d_model, c.n_head * c.d_head, &L.gqa.o, c.o_bias);
      if (c.qk_norm) {
        vector(a + "q_norm.weight", c.d_head, &L.gqa.q_norm);
        vector(a + "k_norm.weight", c.d_head, &L.gqa.k_norm);
      }
    }
    std::string m = p + "mlp.";
    if (c.is_moe_layer(i)) {
      matrix(m + "gate.weight", c.n_routed_experts, c.d_model, &L.moe.router);
      if (c.topk_method == TopkMethod::NoauxTc)
        vector(m + "gate.e_score_correction_bias", c.n_routed_experts, &L.moe.score_bias, /*trained=*/false);
      L.moe.experts.resize(size_t(c.n_routed_experts));
      for (int64_t e = 0; e < c.n_routed_experts; ++e)
        mlp(m + "experts." + std::to_string(e), c.d_expert, &L.moe.experts[size_t(e)], false);
      L.moe.has_shared = c.n_shared_experts > 0;
      if (L.moe.has_shared) mlp(m + "shared_experts", c.n_shared_experts * c.d_expert, &L.moe.shared, false);
    } else {
      mlp(p + "mlp", c.d_ff, &L.mlp, c.mlp_bias);
    }
  }
  vector("model.norm.weight", c.d_model, &final_norm);
  if (c.tie_word_embeddings) lm_head = embed;  // bound after the visit by the loader
  else matrix("lm_head.weight", c.vocab_size, c.d_model, &lm_head);
}

LoadedWeights LoadedWeights::load(const ModelConfig& config, const WeightSource& source, ThreadPool& pool,
                                  const LoadOptions& options) {
  LoadedWeights out;
  const std::string where = source.where();
  // MLA layers whose file holds W_UKᵀ / W_UV instead of kv_b_proj (GGUF attn_k_b / attn_v_b).
  std::vector<std::optional<std::pair<Tensor, Tensor>>> absorbed(size_t(config.n_layer));
  if (config.is_mla())
    for (int64_t l = 0; l < config.n_layer; ++l) absorbed[size_t(l)] = source.absorbed_mla(l);
  auto stored = [&](const std::string& name, const Shape& shape) {
    std::optional<Tensor> t = source.find(name);
    if (!t) fail("{}: tensor '{}' is missing", where, name);
    if (t->shape() != shape)
      fail("{}: tensor '{}' has shape {}, expected {}", where, name, shape_str(t->shape()), shape_str(shape));
    if (!dtype_traits(t->dtype()).is_float)
      fail("{}: tensor '{}' has integer dtype {}, expected a floating dtype", where, name, dtype_name(t->dtype()));
    out.stored_bytes += t->nbytes();
    return *t;
  };
  auto kv_b_layer = [&](const MatrixView* m) -> int64_t {  // the layer whose kv_b_proj slot m is, or -1
    for (int64_t l = 0; l < config.n_layer; ++l)
      if (m == &out.weights.layers[size_t(l)].mla.kv_b.w) return l;
    return -1;
  };
  out.weights.visit(config, [&](const ModelWeights::Slot& slot) {
    if (auto* v = std::get_if<VectorView*>(&slot.target)) {
      Tensor f = stored(slot.name, slot.shape).to_f32();  // an aligned f32 copy (mapped data may be unaligned)
      **v = VectorView{f.data<float>(), f.numel()};
      out.owned_.push_back(std::move(f));
      return;
    }
    MatrixView& m = *std::get<MatrixView*>(slot.target);
    if (const int64_t layer = config.is_mla() ? kv_b_layer(&m) : -1; layer >= 0 && absorbed[size_t(layer)]) {
      out.bind_absorbed(config, layer, *absorbed[size_t(layer)], where);
      return;  // kv_b_proj stays unbound: attention runs in absorbed form
    }
    Tensor t = stored(slot.name, slot.shape);
    m = MatrixView{t.dtype(), slot.shape[0], slot.shape[1], t.raw(), nullptr};
    out.owned_.push_back(t);  // keeps the mapping alive
    if (t.dtype() == DType::F8E4M3) {
      std::string scale_name = slot.name + "_scale_inv";
      if (!source.find(scale_name))
        fail("{}: F8_E4M3 tensor '{}' needs its block scales '{}', which are missing", where, slot.name, scale_name);
      Tensor s = stored(scale_name, {ceil_div(m.rows, MatrixView::kBlock), ceil_div(m.cols, MatrixView::kBlock)}).to_f32();
      m.block_scale = s.data<float>();
      out.owned_.push_back(std::move(s));
    }
  });
  if (config.tie_word_embeddings) out.weights.lm_head = out.weights.embed;
  if (config.is_mla()) out.derive_absorbed(config);  // reads kv_b once, wherever it lives
  if (!options.mmap) {
    out.make_resident(config, pool);
    source.drop_resident_pages();  // the copy replaces the mapping: do not hold both in memory
  }
  return out;
}

// Per-head views of W_UKᵀ [n_head, kv_lora, nope] and W_UV [n_head, v, kv_lora] as stored.
void LoadedWeights::bind_absorbed(const ModelConfig& c, int64_t layer, const std::pair<Tensor, Tensor>& uk_uv,
                                  const std::string& where) {
  const auto& [uk_t, uv] = uk_uv;
  const Shape want_uk = {c.n_head, c.kv_lora_rank, c.qk_nope_head_dim}, want_uv = {c.n_head, c.v_head_dim, c.kv_lora_rank};
  if (uk_t.shape() != want_uk || uv.shape() != want_uv)
    fail("{}: layer {}: absorbed MLA matrices have shapes {} and {}, expected {} and {}", where, layer,
         shape_str(uk_t.shape()), shape_str(uv.shape()), shape_str(want_uk), shape_str(want_uv));
  MlaWeights& mla = weights.layers[size_t(layer)].mla;
  mla.w_uk_t.clear();
  mla.w_uv.clear();
  for (int64_t h = 0; h < c.n_head; ++h) {
    MatrixView a{uk_t.dtype(), c.kv_lora_rank, c.qk_nope_head_dim, nullptr, nullptr};
    a.data = static_cast<const char*>(uk_t.raw()) + size_t(h) * a.nbytes();
    MatrixView b{uv.dtype(), c.v_head_dim, c.kv_lora_rank, nullptr, nullptr};
    b.data = static_cast<const char*>(uv.raw()) + size_t(h) * b.nbytes();
    mla.w_uk_t.push_back(a);
    mla.w_uv.push_back(b);
  }
  stored_bytes += uk_t.nbytes() + uv.nbytes();
  owned_.push_back(uk_t);
  owned_.push_back(uv);
}

LoadedWeights LoadedWeights::bind_f32(const ModelConfig& config, const F32Lookup& lookup) {
  LoadedWeights out;
  out.weights.visit(config, [&](const ModelWeights::Slot& slot) {
    const float* data = lookup(slot.name, slot.shape);
    out.stored_bytes += size_t(shape_numel(slot.shape)) * sizeof(float);
    if (auto* v = std::get_if<VectorView*>(&slot.target)) **v = VectorView{data, slot.shape[0]};
    else **std::get_if<MatrixView*>(&slot.target) = MatrixView{DType::F32, slot.shape[0], slot.shape[1], data, nullptr};
  });
  if (config.tie_word_embeddings) out.weights.lm_head = out.weights.embed;
  if (config.is_mla()) out.derive_absorbed(config);
  return out;
}

// Copies every weight matrix into one huge-page arena (64-byte aligned each) and repoints the views.
void LoadedWeights::make_resident(const ModelConfig& config, ThreadPool& pool) {
  std::vector<MatrixView*> matrices;
  weights.visit(config, [&](const ModelWeights::Slot& slot) {
    if (auto* m = std::get_if<MatrixView*>(&slot.target); m && (*m)->data) matrices.push_back(*m);
  });
  // visit() only lists the slots again; the views bound above are left as they are. Layers stored in
  // absorbed form (bind_absorbed) have no kv_b_proj but per-head W_UKᵀ / W_UV views of the file.
  for (LayerWeights& L : weights.layers)
    if (config.is_mla() && L.mla.kv_b.w.data == nullptr)
      for (size_t h = 0; h < L.mla.w_uk_t.size(); ++h) matrices.push_back(&L.mla.w_uk_t[h]), matrices.push_back(&L.mla.w_uv[h]);
  std::vector<size_t> offset(matrices.size() + 1, 0);
  for (size_t i = 0; i < matrices.size(); ++i) offset[i + 1] = offset[i] + (matrices[i]->nbytes() + 63) / 64 * 64;
  resident_ = allocate_huge_pages(offset.back());
  Progress progress("loading weights", double(offset.back()), Progress::Unit::kBytes);
  pool.parallel_for(matrices.size(), 1, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      std::memcpy(resident_.get() + offset[i], matrices[i]->data, matrices[i]->nbytes());
      matrices[i]->data = resident_.get() + offset[i];
      progress.add(double(matrices[i]->nbytes()));
    }
  });
  if (config.tie_word_embeddings) weights.lm_head = weights.embed;
}

// Splits kv_b_proj [n_head, nope + v, kv_lora] into per-head W_UKᵀ [kv_lora, nope] and W_UV [v, kv_lora].
// Kept in f32, or bf16 when kv_b is bf16, so the decode path reads no more bytes than the checkpoint holds.
void LoadedWeights::derive_absorbed(const ModelConfig& c) {
  const int64_t nope = c.qk_nope_head_dim, dv = c.v_head_dim, r = c.kv_lora_rank;
  for (LayerWeights& L : weights.layers) {
    const MatrixView& kv_b = L.mla.kv_b.w;
    if (kv_b.data == nullptr) continue;  // stored in absorbed form (bind_absorbed)
    DType dt = kv_b.dtype == DType::BF16 ? DType::BF16 : DType::F32;
    Tensor uk_t = Tensor::zeros(dt, {c.n_head, r, nope});
    Tensor uv = Tensor::zeros(dt, {c.n_head, dv, r});
    auto store = [&](Tensor& t, int64_t i, float v) {
      if (dt == DType::BF16) t.mutable_data<uint16_t>()[i] = f32_to_bf16(v);
      else t.mutable_data<float>()[i] = v;
    };
    for (int64_t h = 0; h < c.n_head; ++h) {
      int64_t row0 = h * (nope + dv);
      for (int64_t i = 0; i < nope; ++i)
        for (int64_t j = 0; j < r; ++j) store(uk_t, (h * r + j) * nope + i, kv_b.at(row0 + i, j));
      for (int64_t i = 0; i < dv; ++i)
        for (int64_t j = 0; j < r; ++j) store(uv, (h * dv + i) * r + j, kv_b.at(row0 + nope + i, j));
    }
    L.mla.w_uk_t.clear();
    L.mla.w_uv.clear();
    size_t es = dtype_size(dt);
    for (int64_t h = 0; h < c.n_head; ++h) {
      L.mla.w_uk_t.push_back({dt, r, nope, static_cast<const char*>(uk_t.raw()) + size_t(h * r * nope) * es, nullptr});
      L.mla.w_uv.push_back({dt, dv, r, static_cast<const char*>(uv.raw()) + size_t(h * dv * r) * es, nullptr});
    }
    owned_.push_back(std::move(uk_t));
    owned_.push_back(std::move(uv));
  }
}

}  // namespace whale
