/* LLM sessions (docs/llm.md): the prefill and decode graphs of a compiled
 * GGUF model, each extracted from the artifact's shared graph into its own
 * executable graph. The KV-cache inputs of both become static tensors over
 * the session's own cache buffers, so both graphs read the same cache; after
 * each run the graph's k_new/v_new outputs are written into the cache rows
 * of the fed positions (the "scatter" is this copy, done by the session). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api_internal.h"
#include "../core/util.h"
#include "../runtime/exec.h"
#include "../runtime/threadpool.h"
#include "llm_model.h"
#include "llm_session.h"
#include "tokenizer.h"

typedef struct llm_graph {
    me_graph g;
    me_exec exec;
    bool ready;
    int T;
    int32_t *tokens, *positions;
    float *mask, *logits;
    float **k_new, **v_new;   /* [n_layer] */
} llm_graph;

struct me_llm_session {
    const me_model *m;
    me_arena arena;
    me_llm_desc desc;
    float **k_cache, **v_cache;  /* [n_layer] x [n_head_kv, C, head_dim] */
    llm_graph prefill, decode;
    int n_past;
    me_threadpool *pool;  /* owned; NULL = one thread */
};

/* Copies the nodes `sg` needs (and the tensors they touch) into dst.
 * Tensors named kv_cache.{k,v}.N become static over the session's buffers. */
static me_status extract(me_llm_session *s, const me_subgraph *sg, me_graph *dst, me_diag *d) {
    const me_graph *src = &s->m->g;
    int nt = src->n_tensors, nn = src->n_nodes;
    int *map = malloc((size_t)(nt ? nt : 1) * sizeof *map);
    char *need_n = calloc((size_t)(nn ? nn : 1), 1);
    int *stack = malloc((size_t)(nt ? nt : 1) * sizeof *stack);
    me_status st = ME_OK;
    if (!map || !need_n || !stack) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto out; }
    for (int i = 0; i < nt; i++) map[i] = -1;
    int sp = 0;
    for (int i = 0; i < sg->n_outputs; i++) {
        int t = sg->outputs[i];
        if (map[t] == -1) { map[t] = -2; stack[sp++] = t; }
    }
    while (sp > 0) {
        int t = stack[--sp];
        int p = src->tensors[t].producer;
        if (p < 0 || need_n[p]) continue;
        need_n[p] = 1;
        const me_node *n = &src->nodes[p];
        for (int k = 0; k < n->n_in; k++) {
            int u = n->in[k];
            if (u >= 0 && map[u] == -1) { map[u] = -2; stack[sp++] = u; }
        }
        for (int k = 0; k < n->n_out; k++)
            if (map[n->out[k]] == -1) map[n->out[k]] = -2;
    }
    for (int t = 0; t < nt && st == ME_OK; t++) {
        if (map[t] != -2) continue;
        const me_tensor *tt = &src->tensors[t];
        int id;
        unsigned layer;
        char kv;
        if (tt->flags & ME_TF_STATIC) {
            /* set the encoding before the data: a BLOCKQ tensor's size depends on it */
            id = me_graph_add_tensor(dst, tt->name, tt->dtype, tt->rank, tt->dims, d);
            if (id >= 0) {
                me_tensor *nt = &dst->tensors[id];
                nt->qenc = tt->qenc;
                nt->flags |= ME_TF_STATIC;
                nt->data = tt->data;
                nt->nbytes = tt->nbytes;
            }
        } else if (sscanf(tt->name, "kv_cache.%c.%u", &kv, &layer) == 2 && (kv == 'k' || kv == 'v') &&
                   layer < s->desc.hp.n_layer) {
            float *buf = kv == 'k' ? s->k_cache[layer] : s->v_cache[layer];
            size_t bytes = me_tensor_nbytes(tt);
            const me_llm_hparams *hp = &s->desc.hp;
            if (bytes != (size_t)hp->n_head_kv * hp->context_length * hp->head_dim * sizeof(float)) {
                st = me_fail(d, ME_ERR_FORMAT, "'%s' does not have the cache shape of the LLM section", tt->name);
                break;
            }
            id = me_graph_add_static_ref(dst, tt->name, tt->dtype, tt->rank, tt->dims, buf, bytes, d);
        } else {
            id = me_graph_add_tensor(dst, tt->name, tt->dtype, tt->rank, tt->dims, d);
        }
        if (id < 0) st = ME_ERR_NOMEM;
        map[t] = id;
    }
    for (int i = 0; i < nn && st == ME_OK; i++) {
        if (!need_n[i]) continue;
        const me_node *n = &src->nodes[i];
        int ins[64], outs[8];
        if (n->n_in > 64 || n->n_out > 8) { st = me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' has too many tensors", n->name); break; }
        for (int k = 0; k < n->n_in; k++) ins[k] = n->in[k] >= 0 ? map[n->in[k]] : -1;
        for (int k = 0; k < n->n_out; k++) outs[k] = map[n->out[k]];
        int id = me_graph_add_node(dst, n->name, n->op, ins, n->n_in, outs, n->n_out, n->scope, d);
        if (id < 0) { st = ME_ERR_NOMEM; break; }
        dst->nodes[id].params = n->params; /* read-only, owned by the model's graph */
        dst->nodes[id].n_params = n->n_params;
    }
    for (int i = 0; i < sg->n_inputs && st == ME_OK; i++) {
        int t = map[sg->inputs[i]];
        if (t >= 0 && !(dst->tensors[t].flags & ME_TF_STATIC)) st = me_graph_add_input(dst, t);
    }
    for (int i = 0; i < sg->n_outputs && st == ME_OK; i++) st = me_graph_add_output(dst, map[sg->outputs[i]]);
out:
    free(map);
    free(need_n);
    free(stack);
    return st;
}

static void *find_io(llm_graph *lg, const char *gname, const char *what, size_t want, me_diag *d, me_status *st) {
    if (*st) return NULL;
    char name[96];
    snprintf(name, sizeof name, "%s/%s", gname, what);
    int t = me_graph_find_tensor(&lg->g, name);
    if (t < 0 || me_tensor_nbytes(&lg->g.tensors[t]) != want) {
        *st = me_fail(d, ME_ERR_FORMAT, "the %s graph has no tensor '%s' of %zu bytes", gname, name, want);
        return NULL;
    }
    return me_exec_tensor_data(&lg->exec, t);
}

static me_status graph_open(me_llm_session *s, const char *gname, llm_graph *lg, me_diag *d) {
    const me_graph *src = &s->m->g;
    const me_subgraph *sg = NULL;
    for (int i = 0; i < src->n_subgraphs; i++)
        if (strcmp(src->subgraphs[i].name, gname) == 0) sg = &src->subgraphs[i];
    if (!sg) return me_fail(d, ME_ERR_FORMAT, "the artifact has no '%s' graph", gname);
    me_graph_init(&lg->g, d);
    me_status st = extract(s, sg, &lg->g, d);
    if (st == ME_OK) st = me_exec_create(&lg->g, &lg->exec, d);
    if (st != ME_OK) return st;
    lg->ready = true;
    const me_llm_hparams *hp = &s->desc.hp;
    int tok = me_graph_find_tensor(&lg->g, strcmp(gname, "decode") == 0 ? "decode/tokens" : "prefill/tokens");
    if (tok < 0 || lg->g.tensors[tok].rank != 1 || lg->g.tensors[tok].dims[0] < 1 || lg->g.tensors[tok].dims[0] > 65536)
        return me_fail(d, ME_ERR_FORMAT, "the %s graph has no tokens input of 1 to 65536 ids", gname);
    lg->T = (int)lg->g.tensors[tok].dims[0];
    size_t T = (size_t)lg->T, C = hp->context_length, L = hp->n_layer;
    lg->tokens = find_io(lg, gname, "tokens", T * 4, d, &st);
    lg->positions = find_io(lg, gname, "positions", T * 4, d, &st);
    lg->mask = find_io(lg, gname, "mask", T * (C + T) * 4, d, &st);
    lg->logits = find_io(lg, gname, "logits", T * hp->n_vocab * 4, d, &st);
    lg->k_new = me_arena_calloc(&s->arena, L, sizeof(float *));
    lg->v_new = me_arena_calloc(&s->arena, L, sizeof(float *));
    if (!lg->k_new || !lg->v_new) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    size_t rows = (size_t)hp->n_head_kv * T * hp->head_dim * 4;
    for (size_t l = 0; l < L && st == ME_OK; l++) {
        char w[32];
        snprintf(w, sizeof w, "k_new.%zu", l);
        lg->k_new[l] = find_io(lg, gname, w, rows, d, &st);
        snprintf(w, sizeof w, "v_new.%zu", l);
        lg->v_new[l] = find_io(lg, gname, w, rows, d, &st);
    }
    return st;
}

static void graph_close(llm_graph *lg) {
    if (lg->ready) me_exec_free(&lg->exec);
    me_graph_free(&lg->g);
}

me_status me_llm_session_open(const me_model *m, me_llm_session **out, me_diag *d) {
    *out = NULL;
    if (!m->g.llm_blob) return me_fail(d, ME_ERR_INVALID_ARG, "the model is not a language model compiled from GGUF");
    me_llm_session *s = calloc(1, sizeof *s);
    if (!s) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    s->m = m;
    me_arena_init(&s->arena);
    me_status st = me_llm_desc_unpack(m->g.llm_blob, m->g.llm_blob_bytes, &s->arena, &s->desc, d);
    const me_llm_hparams *hp = &s->desc.hp;
    if (st == ME_OK) {
        s->k_cache = me_arena_calloc(&s->arena, hp->n_layer, sizeof(float *));
        s->v_cache = me_arena_calloc(&s->arena, hp->n_layer, sizeof(float *));
        size_t n = (size_t)hp->n_head_kv * hp->context_length, bytes;
        if (!s->k_cache || !s->v_cache || !me_mul_size(n, hp->head_dim, &n) || !me_mul_size(n, 4, &bytes))
            st = me_fail(d, ME_ERR_NOMEM, "the KV cache is too large");
        for (uint32_t l = 0; st == ME_OK && l < hp->n_layer; l++) {
            s->k_cache[l] = calloc(n, sizeof(float));
            s->v_cache[l] = calloc(n, sizeof(float));
            if (!s->k_cache[l] || !s->v_cache[l]) st = me_fail(d, ME_ERR_NOMEM, "out of memory for the KV cache");
        }
    }
    if (st == ME_OK) st = graph_open(s, "prefill", &s->prefill, d);
    if (st == ME_OK) st = graph_open(s, "decode", &s->decode, d);
    if (st == ME_OK && s->decode.T != 1) st = me_fail(d, ME_ERR_FORMAT, "the decode graph takes %d tokens, not 1", s->decode.T);
    if (st != ME_OK) {
        me_llm_session_destroy(s);
        return st;
    }
    *out = s;
    return ME_OK;
}

void me_llm_session_destroy(me_llm_session *s) {
    if (!s) return;
    graph_close(&s->prefill);
    graph_close(&s->decode);
    me_threadpool_destroy(s->pool);
    for (uint32_t l = 0; s->k_cache && l < s->desc.hp.n_layer; l++) {
        free(s->k_cache[l]);
        free(s->v_cache[l]);
    }
    me_arena_free(&s->arena);
    free(s);
}

me_status me_llm_session_threads(me_llm_session *s, int n_threads, me_diag *d) {
    if (n_threads < 0 || n_threads > 4096)
        return me_fail(d, ME_ERR_INVALID_ARG, "%d threads (expected 0..4096, 0 = all cores)", n_threads);
    int n = n_threads ? n_threads : me_cpu_count();
    if (me_threadpool_threads(s->pool) == n) return ME_OK;
    me_threadpool *p = me_threadpool_create(n);
    if (!p) return me_fail(d, ME_ERR_NOMEM, "cannot start %d threads", n);
    me_exec_set_pool(&s->prefill.exec, p);
    me_exec_set_pool(&s->decode.exec, p);
    me_threadpool_destroy(s->pool);
    s->pool = p;
    return ME_OK;
}

void me_llm_session_reset(me_llm_session *s) {
    if (s) s->n_past = 0;
}

int me_llm_session_position(const me_llm_session *s) { return s ? s->n_past : 0; }

const me_llm_desc *me_llm_session_desc(const me_llm_session *s) { return &s->desc; }

/* One run of graph lg over n <= T tokens at positions n_past.. */
static me_status run_chunk(me_llm_session *s, llm_graph *lg, const int32_t *tokens, int n, float *logits_out,
                           bool all_rows, bool last_chunk, me_diag *d) {
    const me_llm_hparams *hp = &s->desc.hp;
    int T = lg->T, C = (int)hp->context_length, P = s->n_past;
    for (int t = 0; t < T; t++) {
        lg->tokens[t] = t < n ? tokens[t] : 0;
        int pos = P + t;
        lg->positions[t] = pos < C ? pos : C - 1;
        float *row = lg->mask + (size_t)t * (size_t)(C + T);
        for (int j = 0; j < C; j++) row[j] = j < P ? 0.0f : -INFINITY;
        for (int i = 0; i < T; i++) row[C + i] = (i <= t && i < n) ? 0.0f : -INFINITY;
    }
    me_status st = me_exec_run(&lg->exec, d);
    if (st != ME_OK) return st;
    size_t hd = hp->head_dim, rows = (size_t)n * hd * sizeof(float);
    for (uint32_t l = 0; l < hp->n_layer; l++)
        for (uint32_t h = 0; h < hp->n_head_kv; h++) {
            memcpy(s->k_cache[l] + ((size_t)h * (size_t)C + (size_t)P) * hd, lg->k_new[l] + (size_t)h * (size_t)T * hd, rows);
            memcpy(s->v_cache[l] + ((size_t)h * (size_t)C + (size_t)P) * hd, lg->v_new[l] + (size_t)h * (size_t)T * hd, rows);
        }
    size_t V = hp->n_vocab;
    if (logits_out) {
        if (all_rows) memcpy(logits_out, lg->logits, (size_t)n * V * sizeof(float));
        else if (last_chunk) memcpy(logits_out, lg->logits + (size_t)(n - 1) * V, V * sizeof(float));
    }
    s->n_past += n;
    return ME_OK;
}

me_status me_llm_session_feed(me_llm_session *s, const int32_t *tokens, int n, float *logits_out, bool all_rows,
                              me_diag *d) {
    const me_llm_hparams *hp = &s->desc.hp;
    if (n < 0 || (n > 0 && !tokens)) return me_fail(d, ME_ERR_INVALID_ARG, "no tokens given");
    if (n > (int)hp->context_length - s->n_past)
        return me_fail(d, ME_ERR_INVALID_ARG, "%d more tokens do not fit the context (%d of %u used)", n, s->n_past,
                       hp->context_length);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= hp->n_vocab)
            return me_fail(d, ME_ERR_INVALID_ARG, "token id %d is out of range (vocabulary of %u)", tokens[i], hp->n_vocab);
    for (int done = 0; done < n;) {
        int left = n - done;
        llm_graph *lg = left == 1 ? &s->decode : &s->prefill;
        int k = left < lg->T ? left : lg->T;
        float *dst = logits_out && all_rows ? logits_out + (size_t)done * hp->n_vocab : logits_out;
        me_status st = run_chunk(s, lg, tokens + done, k, dst, all_rows, done + k == n, d);
        if (st != ME_OK) return st;
        done += k;
    }
    return ME_OK;
}
