/* Packing/unpacking the LLM description blob (layout: docs/dlc-format.md, "LLM section"). */
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "llm_model.h"

#define LLM_MAGIC "MELLM\0\0\1"
#define LLM_MAX_TOKENS (1u << 24)
#define LLM_MAX_PIECE (1u << 16)

enum { F_ADD_BOS = 1, F_ADD_EOS = 2, F_SPACE_PREFIX = 4, F_SCORES = 8, F_TYPES = 16 };

typedef struct wbuf { unsigned char *p; size_t n, cap; bool oom; } wbuf;

static void put(wbuf *w, const void *src, size_t n) {
    if (w->oom) return;
    if (n > SIZE_MAX - w->n) { w->oom = true; return; }
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->n + n) {
            if (cap > SIZE_MAX / 2) { w->oom = true; return; }
            cap *= 2;
        }
        unsigned char *q = realloc(w->p, cap);
        if (!q) { w->oom = true; return; }
        w->p = q;
        w->cap = cap;
    }
    memcpy(w->p + w->n, src, n);
    w->n += n;
}
static void put_u32(wbuf *w, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(w, b, 4);
}
static void put_f32(wbuf *w, float f) { uint32_t u; memcpy(&u, &f, 4); put_u32(w, u); }
static void put_name32(wbuf *w, const char *s) {
    char b[32] = {0};
    size_t n = strnlen(s, 31);
    memcpy(b, s, n);
    put(w, b, 32);
}

me_status me_llm_desc_pack(const me_llm_desc *m, void **out, size_t *n, me_diag *d) {
    wbuf w = {0};
    const me_llm_hparams *h = &m->hp;
    const me_llm_vocab *v = &m->vocab;
    put(&w, LLM_MAGIC, 8);
    uint32_t hv[12] = {h->n_vocab, h->n_embd, h->n_layer, h->n_head, h->n_head_kv, h->head_dim,
                       h->n_rot, h->n_ff, h->ctx_train, h->seq_len, h->context_length, h->rope_neox};
    for (int i = 0; i < 12; i++) put_u32(&w, hv[i]);
    put_f32(&w, h->eps);
    put_f32(&w, h->rope_base);
    uint32_t flags = (v->add_bos ? F_ADD_BOS : 0) | (v->add_eos ? F_ADD_EOS : 0) |
                     (v->add_space_prefix ? F_SPACE_PREFIX : 0) | (v->scores ? F_SCORES : 0) | (v->types ? F_TYPES : 0);
    put_u32(&w, (uint32_t)v->model);
    put_u32(&w, (uint32_t)v->bos);
    put_u32(&w, (uint32_t)v->eos);
    put_u32(&w, (uint32_t)v->unk);
    put_u32(&w, flags);
    put_u32(&w, v->n_tokens);
    put_u32(&w, v->n_merges);
    put_name32(&w, h->arch);
    put_name32(&w, v->pre);
    for (uint32_t i = 0; i < v->n_tokens; i++) {
        put_u32(&w, v->token_len[i]);
        put(&w, v->tokens[i], v->token_len[i]);
    }
    if (v->scores)
        for (uint32_t i = 0; i < v->n_tokens; i++) put_f32(&w, v->scores[i]);
    if (v->types)
        for (uint32_t i = 0; i < v->n_tokens; i++) put_u32(&w, (uint32_t)v->types[i]);
    for (uint32_t i = 0; i < v->n_merges; i++) {
        uint32_t len = (uint32_t)strlen(v->merges[i]);
        put_u32(&w, len);
        put(&w, v->merges[i], len);
    }
    if (w.oom) {
        free(w.p);
        return me_fail(d, ME_ERR_NOMEM, "out of memory packing the LLM description");
    }
    *out = w.p;
    *n = w.n;
    return ME_OK;
}

typedef struct rbuf { const unsigned char *p; size_t n, at; bool bad; } rbuf;

static const unsigned char *take(rbuf *r, size_t n) {
    if (r->bad || n > r->n - r->at) { r->bad = true; return NULL; }
    const unsigned char *q = r->p + r->at;
    r->at += n;
    return q;
}
static uint32_t get_u32(rbuf *r) {
    const unsigned char *b = take(r, 4);
    return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0;
}
static float get_f32(rbuf *r) { uint32_t u = get_u32(r); float f; memcpy(&f, &u, 4); return f; }
static void get_name32(rbuf *r, char *dst) {
    const unsigned char *b = take(r, 32);
    memset(dst, 0, 32);
    if (b) memcpy(dst, b, 31);
}
static const char *get_str(rbuf *r, me_arena *a, uint32_t *len_out) {
    uint32_t len = get_u32(r);
    if (len > LLM_MAX_PIECE) { r->bad = true; return NULL; }
    const unsigned char *b = take(r, len);
    if (!b) return NULL;
    if (len_out) *len_out = len;
    return me_arena_strndup(a, (const char *)b, len);
}

me_status me_llm_desc_unpack(const void *blob, size_t n, me_arena *a, me_llm_desc *m, me_diag *d) {
    memset(m, 0, sizeof *m);
    rbuf r = {blob, n, 0, false};
    const unsigned char *mg = take(&r, 8);
    if (!mg || memcmp(mg, LLM_MAGIC, 8) != 0) return me_fail(d, ME_ERR_FORMAT, "LLM section: bad magic or version");
    me_llm_hparams *h = &m->hp;
    uint32_t *hv[12] = {&h->n_vocab, &h->n_embd, &h->n_layer, &h->n_head, &h->n_head_kv, &h->head_dim,
                        &h->n_rot, &h->n_ff, &h->ctx_train, &h->seq_len, &h->context_length, &h->rope_neox};
    for (int i = 0; i < 12; i++) *hv[i] = get_u32(&r);
    h->eps = get_f32(&r);
    h->rope_base = get_f32(&r);
    me_llm_vocab *v = &m->vocab;
    v->model = (int)get_u32(&r);
    v->bos = (int32_t)get_u32(&r);
    v->eos = (int32_t)get_u32(&r);
    v->unk = (int32_t)get_u32(&r);
    uint32_t flags = get_u32(&r);
    v->n_tokens = get_u32(&r);
    v->n_merges = get_u32(&r);
    get_name32(&r, h->arch);
    get_name32(&r, v->pre);
    if (r.bad) return me_fail(d, ME_ERR_FORMAT, "LLM section: truncated header");
    if (v->model < ME_TOK_NONE || v->model > ME_TOK_BPE || v->n_tokens > LLM_MAX_TOKENS ||
        v->n_merges > LLM_MAX_TOKENS || (flags & ~31u))
        return me_fail(d, ME_ERR_FORMAT, "LLM section: bad tokenizer header");
    /* every token and merge takes at least its 4-byte length: no allocation beyond the blob's size */
    if ((uint64_t)v->n_tokens * 4 + (uint64_t)v->n_merges * 4 > n - r.at)
        return me_fail(d, ME_ERR_FORMAT, "LLM section: %u tokens and %u merges do not fit in it", v->n_tokens,
                       v->n_merges);
    if (h->n_vocab != v->n_tokens && v->model != ME_TOK_NONE)
        return me_fail(d, ME_ERR_FORMAT, "LLM section: vocabulary has %u tokens, the model %u", v->n_tokens,
                       h->n_vocab);
    v->add_bos = flags & F_ADD_BOS;
    v->add_eos = flags & F_ADD_EOS;
    v->add_space_prefix = flags & F_SPACE_PREFIX;
    v->tokens = me_arena_calloc(a, v->n_tokens + 1, sizeof *v->tokens);
    v->token_len = me_arena_calloc(a, v->n_tokens + 1, sizeof *v->token_len);
    v->merges = me_arena_calloc(a, v->n_merges + 1, sizeof *v->merges);
    if (!v->tokens || !v->token_len || !v->merges) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < v->n_tokens && !r.bad; i++) v->tokens[i] = get_str(&r, a, &v->token_len[i]);
    if (flags & F_SCORES) {
        v->scores = me_arena_calloc(a, v->n_tokens + 1, sizeof *v->scores);
        if (!v->scores) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < v->n_tokens; i++) v->scores[i] = get_f32(&r);
    }
    if (flags & F_TYPES) {
        v->types = me_arena_calloc(a, v->n_tokens + 1, sizeof *v->types);
        if (!v->types) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i < v->n_tokens; i++) v->types[i] = (int32_t)get_u32(&r);
    }
    for (uint32_t i = 0; i < v->n_merges && !r.bad; i++) v->merges[i] = get_str(&r, a, NULL);
    if (r.bad) return me_fail(d, ME_ERR_FORMAT, "LLM section: truncated or oversized vocabulary");
    for (uint32_t i = 0; i < v->n_tokens; i++)
        if (!v->tokens[i]) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    if (r.at != n) return me_fail(d, ME_ERR_FORMAT, "LLM section: %zu trailing bytes", n - r.at);
    if (v->bos >= (int32_t)v->n_tokens || v->eos >= (int32_t)v->n_tokens || v->unk >= (int32_t)v->n_tokens)
        return me_fail(d, ME_ERR_FORMAT, "LLM section: special token id out of range");
    if (h->n_layer == 0 || h->n_head == 0 || h->n_head_kv == 0 || h->head_dim == 0 || h->n_vocab == 0 ||
        h->seq_len == 0 || h->context_length == 0 || h->n_head % h->n_head_kv)
        return me_fail(d, ME_ERR_FORMAT, "LLM section: inconsistent hyper-parameters");
    return ME_OK;
}
