/* Public API of language models (include/modelexport.h, "language models"). */
#include <stdlib.h>
#include <string.h>

#include "../api/api_internal.h"
#include "llm_session.h"
#include "tokenizer.h"

me_status me_llm_session_create(const me_model *m, me_llm_session **out, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = !m || !out ? me_fail(&d, ME_ERR_INVALID_ARG, "me_llm_session_create: a model and an output pointer are required")
                              : me_llm_session_open(m, out, &d);
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}

me_status me_llm_session_eval(me_llm_session *s, const int32_t *tokens, int n, float *logits_out, int all_rows,
                              me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = !s ? me_fail(&d, ME_ERR_INVALID_ARG, "me_llm_session_eval: no session")
                      : me_llm_session_feed(s, tokens, n, logits_out, all_rows != 0, &d);
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}

/* The description of a model, parsed into a caller-owned arena. */
static bool model_desc(const me_model *m, me_arena *a, me_llm_desc *out) {
    if (!m || !m->g.llm_blob) return false;
    me_diag d;
    me_diag_init(&d);
    bool ok = me_llm_desc_unpack(m->g.llm_blob, m->g.llm_blob_bytes, a, out, &d) == ME_OK;
    me_diag_free(&d);
    return ok;
}

static int desc_int(const me_model *m, int which) {
    me_arena a;
    me_arena_init(&a);
    me_llm_desc desc;
    int v = which == 0 ? 0 : which == 1 ? 0 : -1;
    if (model_desc(m, &a, &desc)) {
        switch (which) {
        case 0: v = (int)desc.hp.n_vocab; break;
        case 1: v = (int)desc.hp.context_length; break;
        case 2: v = desc.vocab.bos; break;
        default: v = desc.vocab.eos; break;
        }
    }
    me_arena_free(&a);
    return v;
}

int me_llm_vocab_size(const me_model *m) { return desc_int(m, 0); }
int me_llm_context_length(const me_model *m) { return desc_int(m, 1); }
int me_llm_token_bos(const me_model *m) { return desc_int(m, 2); }
int me_llm_token_eos(const me_model *m) { return desc_int(m, 3); }

me_status me_llm_tokenize(const me_model *m, const char *text, int add_special, int32_t **out, int *n_out,
                          me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_arena a;
    me_arena_init(&a);
    me_llm_desc desc;
    me_tokenizer *t = NULL;
    me_status st;
    if (!text || !out || !n_out) st = me_fail(&d, ME_ERR_INVALID_ARG, "me_llm_tokenize: NULL argument");
    else if (!model_desc(m, &a, &desc)) st = me_fail(&d, ME_ERR_INVALID_ARG, "the model is not a language model compiled from GGUF");
    else st = me_tok_create(&desc.vocab, &t, &d);
    if (st == ME_OK) st = me_tok_encode(t, text, add_special != 0, out, n_out, &d);
    me_tok_free(t);
    me_arena_free(&a);
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}

int me_llm_token_to_piece(const me_model *m, int32_t id, char *buf, size_t cap) {
    if (!buf || !cap) return -1;
    me_arena a;
    me_arena_init(&a);
    me_llm_desc desc;
    int r = model_desc(m, &a, &desc) ? me_tok_piece(&desc.vocab, id, buf, cap) : -1;
    me_arena_free(&a);
    return r;
}

me_status me_llm_session_set_threads(me_llm_session *s, int n_threads, me_error **err) {
    if (err) *err = NULL;
    me_diag d;
    me_diag_init(&d);
    me_status st = !s ? me_fail(&d, ME_ERR_INVALID_ARG, "me_llm_session_set_threads: no session")
                      : me_llm_session_threads(s, n_threads, &d);
    if (st != ME_OK) me_api_fail(err, st, &d);
    me_diag_free(&d);
    return st;
}
