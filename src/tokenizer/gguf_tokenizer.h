// A tokenizer from a GGUF file's vocabulary, giving the ids llama.cpp gives (llama_tokenize with
// parse_special) and its detokenized text. Only byte-level BPE (tokenizer.ggml.model "gpt2") is supported.
//
// The vocabulary becomes the tokenizer.json / tokenizer_config.json that HF would hold for it:
//   tokenizer.ggml.tokens, .merges       model.vocab / model.merges (byte-level text, "a b" merges)
//   tokenizer.ggml.token_type            1 NORMAL, 6 BYTE: vocabulary; 3 CONTROL, 2 UNKNOWN: special added
//                                        tokens, 4 USER_DEFINED: added tokens, all matched in the raw text
//                                        first; 5 UNUSED, 0 UNDEFINED: vocabulary that decodes to nothing
//                                        and is never matched as text (llama.cpp's rules); absent: all NORMAL
//   tokenizer.ggml.pre                   the pre-tokenizer regexes llama.cpp uses for that name (absent:
//                                        llama.cpp's "default"), ignore_merges and the clean-up of spaces
//   tokenizer.ggml.{bos,eos,padding}_token_id, add_bos_token, add_eos_token, tokenizer.chat_template
//                                        bos_token / eos_token / pad_token, add_bos_token, chat_template
// Errors (whale::Error) name the file and the key.
#pragma once

#include "tokenizer/tokenizer.h"

namespace whale {

class GgufMetadata;

Tokenizer tokenizer_from_gguf(const GgufMetadata& meta);

}  // namespace whale
