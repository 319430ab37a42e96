#include "engine/model_bundle.h"

#include <algorithm>

#include "core/error.h"

namespace whale {

namespace {

namespace fs = std::filesystem;

void add_once(std::vector<int32_t>& ids, int64_t id) {
  if (id >= 0 && std::find(ids.begin(), ids.end(), int32_t(id)) == ids.end()) ids.push_back(int32_t(id));
}

}  // namespace

ModelBundle ModelBundle::load(const fs::path& path, ThreadPool& pool, const BundleOptions& options) {
  ModelBundle b;
  b.path = path;
  b.model = Model::load(path, pool, options.load);
  const fs::path tokenizer_path = options.tokenizer_path.empty() ? path : options.tokenizer_path;
  if (options.tokenizer) b.tokenizer = Tokenizer::load(tokenizer_path);
  if (b.tokenizer && b.tokenizer->config().contains("chat_template"))
    b.chat_template = ChatTemplate::from_tokenizer_config(b.tokenizer->config(), tokenizer_path.string());
  b.generation = GenerationConfig::load(path);
  for (int64_t e : b.model->config().eos_token_ids) add_once(b.stop_ids, e);
  for (int32_t e : b.generation.eos_token_ids) add_once(b.stop_ids, e);
  const int64_t vocab = b.model->config().vocab_size;
  if (b.tokenizer && b.tokenizer->eos_id() < vocab) add_once(b.stop_ids, b.tokenizer->eos_id());
  b.vocab_limit = b.tokenizer ? std::min<int64_t>(b.tokenizer->vocab_size(), vocab) : vocab;
  for (int32_t id : b.stop_ids)
    if (id >= vocab)
      fail("{}: generation_config.json eos_token_id {} is outside the model's vocabulary ({})", path.string(), id,
           vocab);
  return b;
}

const Tokenizer& ModelBundle::require_tokenizer(const char* what) const {
  if (!tokenizer)
    fail("{}: {} needs the checkpoint's tokenizer (tokenizer.json) and there is none", path.string(), what);
  return *tokenizer;
}

const ChatTemplate& ModelBundle::require_chat_template(const char* what) const {
  if (!chat_template)
    fail("{}: {} needs a chat template (tokenizer_config.json 'chat_template') and the checkpoint has none",
         path.string(), what);
  return *chat_template;
}

}  // namespace whale
