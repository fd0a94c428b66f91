/* What a compiled LLM artifact knows beyond its graphs: the hyper-parameters
 * the graphs were built with and the tokenizer vocabulary. Serialised into
 * the DLC's LLM section (docs/dlc-format.md, "LLM section") so that
 * `generate` works from the .dlc alone. */
#ifndef ME_LLM_MODEL_H
#define ME_LLM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/arena.h"
#include "../core/diag.h"

enum { ME_TOK_NONE = 0, ME_TOK_SPM = 1, ME_TOK_BPE = 2 };

/* SentencePiece token types (tokenizer.ggml.token_type) */
enum { ME_TT_NORMAL = 1, ME_TT_UNKNOWN = 2, ME_TT_CONTROL = 3, ME_TT_USER = 4, ME_TT_UNUSED = 5, ME_TT_BYTE = 6 };

typedef struct me_llm_hparams {
    char arch[32];
    uint32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_rot, n_ff;
    uint32_t ctx_train;       /* the model's context_length */
    uint32_t seq_len;         /* tokens per prefill run */
    uint32_t context_length;  /* KV cache rows */
    uint32_t rope_neox;       /* 0: NORM (adjacent pairs), 1: NEOX (halves) */
    float eps, rope_base;
} me_llm_hparams;

typedef struct me_llm_vocab {
    int model;                /* ME_TOK_* */
    char pre[32];             /* gpt2 pre-tokenizer name ("qwen2", "llama-bpe", "default", ...) */
    uint32_t n_tokens;
    const char **tokens;      /* NUL-terminated copies (pieces never contain NUL in practice) */
    uint32_t *token_len;
    float *scores;            /* [n_tokens] or NULL */
    int32_t *types;           /* [n_tokens] or NULL */
    uint32_t n_merges;
    const char **merges;      /* "a b" */
    int32_t bos, eos, unk;    /* -1 = none */
    bool add_bos, add_eos, add_space_prefix;
} me_llm_vocab;

typedef struct me_llm_desc {
    me_llm_hparams hp;
    me_llm_vocab vocab;
} me_llm_desc;

/* Serialise to one malloc'd blob (*out freed by the caller). */
me_status me_llm_desc_pack(const me_llm_desc *m, void **out, size_t *n, me_diag *d);
/* Parse a blob; arrays and strings are allocated in `a`. Every length is checked. */
me_status me_llm_desc_unpack(const void *blob, size_t n, me_arena *a, me_llm_desc *m, me_diag *d);

#endif
