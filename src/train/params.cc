#include "train/params.h"

#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "model/init.h"
#include "model/weights.h"

namespace whale {
namespace {

struct TensorSpec {
  std::string name;
  Shape shape;
  bool trained = true;
};

// The multi-token-prediction module of depth 1 under the hub's names for layer index num_hidden_layers:
// enorm/hnorm (on the next token's embedding / the main model's hidden state), eh_proj on their
// concatenation, a full decoder block, and shared_head.norm before the (shared) output head.
std::vector<TensorSpec> mtp_specs(const ModelConfig& c) {
  const std::string p = "model.layers." + std::to_string(c.n_layer) + ".";
  std::vector<TensorSpec> specs = {{p + "enorm.weight", {c.d_model}},
                                   {p + "hnorm.weight", {c.d_model}},
                                   {p + "eh_proj.weight", {c.d_model, 2 * c.d_model}}};
  ModelConfig with_block = c;
  with_block.n_layer = c.n_layer + 1;
  ModelWeights layout;
  layout.visit(with_block, [&](const ModelWeights::Slot& s) {
    if (s.name.starts_with(p)) specs.push_back({s.name, s.shape, s.trained});
  });
  specs.push_back({p + "shared_head.norm.weight", {c.d_model}});
  return specs;
}

bool decays(const std::string& name, const Shape& shape) {
  return shape.size() == 2 && name.find("embed_tokens") == std::string::npos;
}

// An MTP tensor read from a checkpoint, dequantised (fp8 + 128×128 block scales) to f32.
std::vector<float> read_f32(const TensorStore& store, const std::string& name, const Shape& shape) {
  const TensorInfo& info = store.info(name);
  if (info.shape != shape)
    fail("{}: tensor '{}' has shape {}, expected {}", store.source().string(), name, shape_str(info.shape),
         shape_str(shape));
  Tensor t = store.get(name);
  if (t.dtype() == DType::F8E4M3) {
    Tensor scale = store.get(name + "_scale_inv").to_f32();
    MatrixView m{t.dtype(), shape[0], shape[1], t.raw(), scale.data<float>()};
    std::vector<float> out(size_t(t.numel()));
    m.dequantize_rows(0, shape[0], out.data());
    return out;
  }
  if (t.dtype() == DType::I64 || t.dtype() == DType::I32)
    fail("{}: tensor '{}' has integer dtype {}", store.source().string(), name, dtype_name(t.dtype()));
  Tensor f = t.to_f32();
  return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

// Master weights are f32 and saved unquantised: the config drops its fp8 quantization_config, and records
// whether an MTP module is part of the checkpoint (num_nextn_predict_layers).
void normalise_config(nlohmann::json& j, bool with_mtp) {
  j.erase("quantization_config");
  if (with_mtp) j["num_nextn_predict_layers"] = 1;
}

}  // namespace

ParamSet ParamSet::from_checkpoint(const std::filesystem::path& dir, bool with_mtp, uint64_t seed) {
  ParamSet out;
  out.config_json_ = read_json_file(dir / "config.json");
  out.config_ = ModelConfig::from_json(out.config_json_, (dir / "config.json").string());
  TensorStore store = TensorStore::open(dir);
  ThreadPool pool(1);
  // The inference loader validates names, shapes and dtypes; its views are then read back as f32.
  LoadedWeights loaded = LoadedWeights::load(out.config_, SafetensorsWeightSource(store), pool, LoadOptions{.mmap = true});
  loaded.weights.visit(out.config_, [&](const ModelWeights::Slot& slot) {
    Param p{slot.name, slot.shape, std::vector<float>(size_t(shape_numel(slot.shape))), {}, slot.trained,
            decays(slot.name, slot.shape)};
    if (auto* v = std::get_if<VectorView*>(&slot.target)) {
      std::copy_n((*v)->data, (*v)->size, p.value.data());
    } else {
      const MatrixView& m = **std::get_if<MatrixView*>(&slot.target);
      m.dequantize_rows(0, m.rows, p.value.data());
    }
    out.add(std::move(p));
  });
  normalise_config(out.config_json_, with_mtp);
  if (with_mtp) {
    out.has_mtp_ = true;
    for (const TensorSpec& s : mtp_specs(out.config_)) {
      std::vector<float> value =
          store.has(s.name) ? read_f32(store, s.name, s.shape) : initial_values(s.name, s.shape, seed, 0.02);
      out.add(Param{s.name, s.shape, std::move(value), {}, s.trained, decays(s.name, s.shape)});
    }
  }
  return out;
}

bool ParamSet::checkpoint_has_mtp(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "config.json";
  const ModelConfig config = ModelConfig::from_json(read_json_file(file), file.string());
  if (config.n_mtp_layers == 0) return false;
  const TensorStore store = TensorStore::open(dir);
  const std::vector<TensorSpec> specs = mtp_specs(config);
  return std::all_of(specs.begin(), specs.end(), [&](const TensorSpec& s) { return store.has(s.name); });
}

void ParamSet::freeze_mtp() {
  const std::string prefix = "model.layers." + std::to_string(config_.n_layer) + ".";  // mtp_specs' names
  for (Param& p : params_)
    if (p.name.starts_with(prefix)) p.trained = false;
}

ParamSet ParamSet::initialize(const nlohmann::json& config_json, bool with_mtp, uint64_t seed, double std) {
  ParamSet out;
  out.config_json_ = config_json;
  out.config_ = ModelConfig::from_json(config_json, "config");
  normalise_config(out.config_json_, with_mtp);
  std::vector<TensorSpec> specs;
  ModelWeights layout;
  layout.visit(out.config_, [&](const ModelWeights::Slot& s) { specs.push_back({s.name, s.shape, s.trained}); });
  if (with_mtp) {
    out.has_mtp_ = true;
    for (TensorSpec& s : mtp_specs(out.config_)) specs.push_back(std::move(s));
  }
  for (const TensorSpec& s : specs)
    out.add(Param{s.name, s.shape, initial_values(s.name, s.shape, seed, std), {}, s.trained, decays(s.name, s.shape)});
  return out;
}

LoadedWeights ParamSet::inference_weights() const {
  return LoadedWeights::bind_f32(config_, [&](const std::string& name, const Shape& shape) {
    const Param& p = at(name);
    if (p.shape != shape) fail("parameter '{}' has shape {}, the model expects {}", name, shape_str(p.shape), shape_str(shape));
    return p.value.data();
  });
}

void ParamSet::add(Param p) {
  if (!index_.emplace(p.name, params_.size()).second) fail("parameter '{}' listed twice", p.name);
  if (p.trained) p.grad.assign(p.value.size(), 0.0f);
  params_.push_back(std::move(p));
}

Param& ParamSet::at(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) fail("parameter '{}' not found", name);
  return params_[it->second];
}

const Param& ParamSet::at(const std::string& name) const { return const_cast<ParamSet*>(this)->at(name); }

const Param* ParamSet::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

Param* ParamSet::find(const std::string& name) {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

void ParamSet::zero_grad() {
  for (Param& p : params_) std::fill(p.grad.begin(), p.grad.end(), 0.0f);
}

int64_t ParamSet::n_trained() const {
  int64_t n = 0;
  for (const Param& p : params_)
    if (p.trained) n += p.numel();
  return n;
}

void ParamSet::save_safetensors(const std::filesystem::path& file, bool bf16) const {
  NamedTensors tensors;
  tensors.reserve(params_.size());
  for (const Param& p : params_) {
    Tensor t = Tensor::from_f32(p.shape, p.value);
    if (bf16) {
      Tensor b = Tensor::zeros(DType::BF16, p.shape);
      for (int64_t i = 0; i < p.numel(); ++i) b.mutable_data<uint16_t>()[i] = f32_to_bf16(p.value[size_t(i)]);
      t = std::move(b);
    }
    tensors.emplace_back(p.name, std::move(t));
  }
  write_safetensors(file, tensors, {{"format", "pt"}});
}

}  // namespace whale
