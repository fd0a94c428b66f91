/* The language-model part of `inspect` for artifacts compiled from GGUF. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/blockq.h"
#include "llm_inspect.h"
#include "llm_model.h"

typedef struct wtype { const char *name; int64_t count; uint64_t bytes; } wtype;

/* Static tensors grouped by storage type (GGML block type names for BLOCKQ). */
static int weight_types(const me_graph *g, wtype *out, int cap) {
    int n = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        const me_tensor *tt = &g->tensors[t];
        if (!(tt->flags & ME_TF_STATIC)) continue;
        const char *name = me_dtype_name(tt->dtype);
        if (tt->dtype == ME_DT_BLOCKQ && tt->qenc) {
            const me_blockq_traits *tr = me_blockq_get(tt->qenc->block_type);
            name = tr ? tr->name : "blockq";
        }
        int k = 0;
        while (k < n && strcmp(out[k].name, name) != 0) k++;
        if (k == n) {
            if (n == cap) continue;
            out[n++] = (wtype){name, 0, 0};
        }
        out[k].count++;
        out[k].bytes += tt->nbytes;
    }
    return n;
}

static const char *tok_name(int model) {
    return model == ME_TOK_SPM ? "SentencePiece (llama)" : model == ME_TOK_BPE ? "GPT-2 byte-level BPE (gpt2)" : "none";
}

typedef struct sb { char *p; size_t n, cap; } sb;
static void sbf(sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbf(sb *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || !b->p) return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = (b->n + (size_t)need + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q) { free(b->p); b->p = NULL; return; }
        b->p = q;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

char *me_llm_describe_text(const me_graph *g) {
    if (!g->llm_blob) return NULL;
    me_arena a;
    me_arena_init(&a);
    me_diag d;
    me_diag_init(&d);
    me_llm_desc m;
    sb b = {malloc(256), 0, 256};
    if (b.p) b.p[0] = 0;
    if (me_llm_desc_unpack(g->llm_blob, g->llm_blob_bytes, &a, &m, &d) != ME_OK) {
        sbf(&b, "language model: the LLM section is invalid: %s\n", me_diag_text(&d));
    } else {
        const me_llm_hparams *h = &m.hp;
        sbf(&b, "language model: %s (from GGUF), %u layers\n", h->arch, h->n_layer);
        sbf(&b, "  hyper-parameters: n_embd %u, n_head %u, n_head_kv %u, head_dim %u, n_rot %u, n_ff %u, vocab %u,\n"
                "    rms_norm_eps %g, rope base %g (%s pairs), trained context %u\n",
            h->n_embd, h->n_head, h->n_head_kv, h->head_dim, h->n_rot, h->n_ff, h->n_vocab, (double)h->eps,
            (double)h->rope_base, h->rope_neox ? "NEOX" : "NORM", h->ctx_train);
        sbf(&b, "  graphs:");
        for (int i = 0; i < g->n_subgraphs; i++)
            sbf(&b, "%s %s (%d inputs, %d outputs)", i ? "," : "", g->subgraphs[i].name, g->subgraphs[i].n_inputs,
                g->subgraphs[i].n_outputs);
        sbf(&b, "\n  prefill: %u tokens per run; KV cache: %u rows x %u layers x 2 of [%u heads, %u] float32\n",
            h->seq_len, h->context_length, h->n_layer, h->n_head_kv, h->head_dim);
        sbf(&b, "  tokenizer: %s, %u tokens, %u merges, BOS %d, EOS %d\n", tok_name(m.vocab.model), m.vocab.n_tokens,
            m.vocab.n_merges, m.vocab.bos, m.vocab.eos);
        wtype w[32];
        int n = weight_types(g, w, 32);
        sbf(&b, "  weights by type (stored once, shared by both graphs):\n");
        for (int i = 0; i < n; i++)
            sbf(&b, "    %-8s %5lld tensor%s %12llu bytes\n", w[i].name, (long long)w[i].count, w[i].count == 1 ? " " : "s",
                (unsigned long long)w[i].bytes);
    }
    me_diag_free(&d);
    me_arena_free(&a);
    return b.p;
}

void *me_llm_describe_json(const me_graph *g) {
    if (!g->llm_blob) return NULL;
    me_arena a;
    me_arena_init(&a);
    me_diag d;
    me_diag_init(&d);
    me_llm_desc m;
    cJSON *o = cJSON_CreateObject();
    if (o && me_llm_desc_unpack(g->llm_blob, g->llm_blob_bytes, &a, &m, &d) == ME_OK) {
        const me_llm_hparams *h = &m.hp;
        cJSON_AddStringToObject(o, "architecture", h->arch);
        cJSON_AddNumberToObject(o, "n_layer", h->n_layer);
        cJSON_AddNumberToObject(o, "n_embd", h->n_embd);
        cJSON_AddNumberToObject(o, "n_head", h->n_head);
        cJSON_AddNumberToObject(o, "n_head_kv", h->n_head_kv);
        cJSON_AddNumberToObject(o, "head_dim", h->head_dim);
        cJSON_AddNumberToObject(o, "n_rot", h->n_rot);
        cJSON_AddNumberToObject(o, "n_ff", h->n_ff);
        cJSON_AddNumberToObject(o, "n_vocab", h->n_vocab);
        cJSON_AddNumberToObject(o, "rms_norm_eps", h->eps);
        cJSON_AddNumberToObject(o, "rope_base", h->rope_base);
        cJSON_AddStringToObject(o, "rope_pairs", h->rope_neox ? "neox" : "norm");
        cJSON_AddNumberToObject(o, "trained_context", h->ctx_train);
        cJSON_AddNumberToObject(o, "seq_len", h->seq_len);
        cJSON_AddNumberToObject(o, "context_length", h->context_length);
        cJSON_AddStringToObject(o, "tokenizer", m.vocab.model == ME_TOK_SPM ? "llama" : m.vocab.model == ME_TOK_BPE ? "gpt2" : "none");
        cJSON *gs = cJSON_AddArrayToObject(o, "graphs");
        for (int i = 0; gs && i < g->n_subgraphs; i++) cJSON_AddItemToArray(gs, cJSON_CreateString(g->subgraphs[i].name));
        cJSON *wt = cJSON_AddObjectToObject(o, "weights");
        wtype w[32];
        int n = weight_types(g, w, 32);
        for (int i = 0; wt && i < n; i++) {
            cJSON *e = cJSON_AddObjectToObject(wt, w[i].name);
            if (!e) continue;
            cJSON_AddNumberToObject(e, "tensors", (double)w[i].count);
            cJSON_AddNumberToObject(e, "bytes", (double)w[i].bytes);
        }
    } else if (o) {
        cJSON_AddStringToObject(o, "error", me_diag_text(&d));
    }
    me_diag_free(&d);
    me_arena_free(&a);
    return o;
}
