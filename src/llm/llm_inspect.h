/* `inspect` of a language model compiled from GGUF: architecture,
 * hyper-parameters, graphs, tokenizer, weight types with byte totals. */
#ifndef ME_LLM_INSPECT_H
#define ME_LLM_INSPECT_H

#include "../ir/ir.h"

/* malloc'd text, or NULL when g is not a language model. */
char *me_llm_describe_text(const me_graph *g);
/* a cJSON object (returned as void* so callers need not include cJSON), or NULL */
void *me_llm_describe_json(const me_graph *g);

#endif
