/* Internal side of the LLM session (public API: include/modelexport.h). */
#ifndef ME_LLM_SESSION_H
#define ME_LLM_SESSION_H

#include <stdbool.h>

#include "../core/diag.h"
#include "llm_model.h"
#include "modelexport.h"

me_status me_llm_session_open(const me_model *m, me_llm_session **out, me_diag *d);
me_status me_llm_session_feed(me_llm_session *s, const int32_t *tokens, int n, float *logits_out, bool all_rows,
                              me_diag *d);
const me_llm_desc *me_llm_session_desc(const me_llm_session *s);
me_status me_llm_session_threads(me_llm_session *s, int n_threads, me_diag *d);

#endif
