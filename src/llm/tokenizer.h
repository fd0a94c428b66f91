/* The GGUF vocabulary's own tokenizers (docs/llm.md "Tokenizers"):
 *  - SentencePiece-style (tokenizer.ggml.model "llama"): spaces become U+2581,
 *    a leading one is added, adjacent symbols are merged best score first,
 *    unknown characters fall back to <0xNN> byte tokens — as llama.cpp's SPM
 *    tokenizer does;
 *  - GPT-2 byte-level BPE ("gpt2"): a pre-tokenizer regex (gpt2 default,
 *    llama-bpe, qwen2; implemented by hand with an approximate Unicode
 *    letter/number classification), bytes mapped to printable code points,
 *    merges applied by rank. */
#ifndef ME_TOKENIZER_H
#define ME_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/diag.h"
#include "llm_model.h"

typedef struct me_tokenizer me_tokenizer;

me_status me_tok_create(const me_llm_vocab *v, me_tokenizer **out, me_diag *d);
void me_tok_free(me_tokenizer *t);
/* *ids is malloc'd (free()). */
me_status me_tok_encode(const me_tokenizer *t, const char *text, bool add_special, int32_t **ids, int *n, me_diag *d);
/* Bytes of one token (see me_llm_token_to_piece). */
int me_tok_piece(const me_llm_vocab *v, int32_t id, char *buf, size_t cap);

#endif
