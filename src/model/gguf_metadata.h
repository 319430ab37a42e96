// GGUF metadata of a hub checkpoint, as llama.cpp's converter writes it: general.*, the architecture's
// hyper-parameter keys (the inverse of gguf_hub_config) and the tokenizer.* vocabulary.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "io/gguf.h"
#include "model/config.h"

namespace whale {

using GgufKeyValues = std::vector<std::pair<std::string, GgufValue>>;

// general.* and <arch>.* keys of a config. Settings GGUF cannot express (DeepSeek YaRN with mscale !=
// mscale_all_dim) are errors.
GgufKeyValues gguf_model_keys(const ModelConfig& config, const std::string& name);

// tokenizer.* keys of a hub tokenizer (DIR/tokenizer.json + tokenizer_config.json, byte-level BPE), for a
// model of `vocab_size` ids (ids the tokenizer lacks become UNUSED "[PAD<id>]" tokens). tokenizer.ggml.pre
// names the pre-tokenizer whose regexes the tokenizer.json holds; one llama.cpp does not know is an error.
GgufKeyValues gguf_tokenizer_keys(const std::filesystem::path& dir, int64_t vocab_size);

// Both, for a hub checkpoint directory.
GgufKeyValues gguf_metadata_for(const ModelConfig& config, const std::filesystem::path& dir);

}  // namespace whale
