/* GGUF language models -> IR: the prefill and decode graphs of
 * docs/llm.md over one set of weight tensors that point into the mapped GGUF. */
#ifndef ME_LLM_GGUF_H
#define ME_LLM_GGUF_H

#include "../../ir/ir.h"
#include "../../llm/llm_model.h"
#include "gguf.h"

me_status llm_read_hparams(const gguf_file *f, const char *arch, me_llm_hparams *hp, me_diag *d);
me_status llm_read_vocab(const gguf_file *f, me_arena *a, me_llm_vocab *v, me_diag *d);

/* Import a GGUF LLM into g (initialised by the caller): both graphs as
 * subgraphs "prefill" and "decode", the LLM description blob, the mapping
 * adopted by the graph. Options used: llm_seq_len, llm_context_length,
 * llm_float, notice. */
me_status me_import_gguf_llm(const char *path, const me_compile_options *o, me_graph *g, me_diag *d);

#endif
