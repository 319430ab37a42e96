#include "engine/generation_config.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <system_error>

#include "core/error.h"
#include "core/regular_file.h"

namespace whale {

namespace {

using nlohmann::json;

double number(const json& j, const char* key, const std::string& source, double lo, double hi) {
  const json& v = j.at(key);
  if (!v.is_number()) fail("{}: '{}' must be a number", source, key);
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi)) fail("{}: '{}' = {} is outside [{}, {}]", source, key, d, lo, hi);
  return d;
}

int64_t integer(const json& v, const char* key, const std::string& source, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) fail("{}: '{}' must be an integer", source, key);
  const int64_t i = v.get<int64_t>();
  if (i < lo || i > hi) fail("{}: '{}' = {} is outside [{}, {}]", source, key, i, lo, hi);
  return i;
}

}  // namespace

GenerationConfig GenerationConfig::from_json(const std::string& text, const std::string& source) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) fail("{}: not a JSON object", source);
  GenerationConfig c;
  auto has = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  if (has("temperature")) c.temperature = float(number(j, "temperature", source, 0, 100));
  if (has("top_p")) c.top_p = float(number(j, "top_p", source, 0, 1));
  if (c.top_p && *c.top_p == 0) fail("{}: 'top_p' must be > 0", source);
  if (has("min_p")) c.min_p = float(number(j, "min_p", source, 0, 1));
  if (has("repetition_penalty")) {
    c.repetition_penalty = float(number(j, "repetition_penalty", source, 0, 10));
    if (*c.repetition_penalty == 0) fail("{}: 'repetition_penalty' must be > 0", source);
  }
  if (has("top_k")) c.top_k = integer(j["top_k"], "top_k", source, 0, int64_t(1) << 31);
  if (has("max_new_tokens"))
    c.max_new_tokens = integer(j["max_new_tokens"], "max_new_tokens", source, 1, int64_t(1) << 24);
  if (has("do_sample")) {
    if (!j["do_sample"].is_boolean()) fail("{}: 'do_sample' must be true or false", source);
    if (!j["do_sample"].get<bool>()) c.temperature = 0.0f;  // greedy, whatever the temperature says
  }
  if (has("eos_token_id")) {
    const json& e = j["eos_token_id"];
    for (const json& v : e.is_array() ? e : json::array({e}))
      c.eos_token_ids.push_back(int32_t(integer(v, "eos_token_id", source, 0, (int64_t(1) << 31) - 1)));
  }
  struct Neutral {
    const char* key;
    double value;  // the setting that changes nothing
  };
  for (const Neutral& n : {Neutral{"frequency_penalty", 0.0}, {"presence_penalty", 0.0}})
    if (has(n.key) && !(j[n.key].is_number() && j[n.key].get<double>() == n.value))
      c.ignored.push_back(fmt::format("{} = {}", n.key, j[n.key].dump()));
  return c;
}

GenerationConfig GenerationConfig::load(const std::filesystem::path& model_path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_path, ec)) return {};
  const std::filesystem::path file = model_path / "generation_config.json";
  if (!std::filesystem::exists(file, ec)) return {};
  return from_json(read_regular_file(file), file.string());
}

SamplingParams GenerationConfig::sampling(SamplingParams base) const {
  if (temperature) base.temperature = *temperature;
  if (top_p) base.top_p = *top_p;
  if (min_p) base.min_p = *min_p;
  if (top_k) base.top_k = *top_k;
  return base;
}

}  // namespace whale
