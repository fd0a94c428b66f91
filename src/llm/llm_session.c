/* LLM sessions (docs/llm.md): the prefill and decode graphs of a compiled
 * GGUF model, each extracted from the artifact's shared graph into its own
 * executable graph. The KV-cache inputs of both become static tensors over
 * the session's own cache buffers, so both graphs read the same cache; after
 * each run the graph's k_new/v_new outputs are written into the cache rows
 * of the fed positions (the "scatter" is this copy, done by the session).
 *
 * Context buckets: the artifact's graphs attend over the whole context C. A
 * session also extracts (lazily) copies of both graphs for smaller contexts
 * Cb < C (64, 128, ... ; see make_buckets): the cache inputs become
 * [n_head_kv, Cb, head_dim] views of the same buffers, the mask [T, Cb + T], and
 * shape inference is re-run over the nodes that depend on them. Each run uses
 * the smallest bucket that holds every filled position plus the new ones, so
 * attention costs what the filled context needs, not C. The cache buffers are
 * laid out for the bucket in use and re-laid (per kv head, rows moved) when the
 * bucket changes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../api/api_internal.h"
#include "../core/util.h"
#include "../quant/quant_kernels.h"
#include "../runtime/exec.h"
#include "../runtime/pack.h"
#include "../runtime/threadpool.h"
#include "llm_model.h"
#include "llm_session.h"
#include "tokenizer.h"

typedef struct llm_graph {
    me_graph g;
    me_exec exec;
    bool ready;
    int T, C;                 /* tokens per run, cache rows per kv head */
    bool last_only;           /* logits of one row: the one at *last */
    int32_t *tokens, *positions, *last;
    float *mask, *logits;
    float **k_new, **v_new;   /* [n_layer] */
} llm_graph;

enum { LLM_MAX_BUCKETS = 48 };

struct me_llm_session {
    const me_model *m;
    me_arena arena;
    me_llm_desc desc;
    float **k_cache, **v_cache;  /* [n_layer] x [n_head_kv, layout_c, head_dim] (room for C rows) */
    int n_buckets, bucket[LLM_MAX_BUCKETS]; /* ascending context sizes, the last is C */
    llm_graph prefill[LLM_MAX_BUCKETS], decode[LLM_MAX_BUCKETS];
    llm_graph prefill_last[LLM_MAX_BUCKETS]; /* prefill with the LM head on one row (no all-row logits asked) */
    int layout_c;
    int n_past;
    me_threadpool *pool;  /* owned; NULL = one thread */
    /* pre-packed weights (me_opdef.pack), one copy shared by every graph and bucket,
     * in read-only mappings (regions) of huge pages where the system gives them */
    struct llm_pack {
        int op;
        const void *params, *weights, *variant;
        size_t bytes;
        const void *buf;
    } *packs;
    int n_packs, cap_packs;
    struct llm_region {
        void *map;
        size_t len;
    } *regions;
    int n_regions, cap_regions;
};

/* 64, 128, ... 512 in steps of 64, then steps of about x1.5 (multiples of 64), then C */
static void make_buckets(me_llm_session *s, int C) {
    int n = 0;
    const char *env = getenv("ME_LLM_FULL_CONTEXT"); /* debugging: always attend over the whole context */
    for (int b = 64; b < C && n < LLM_MAX_BUCKETS - 1 && !(env && *env && *env != '0');) {
        s->bucket[n++] = b;
        b = b < 512 ? b + 64 : (b + b / 2 + 63) / 64 * 64;
    }
    s->bucket[n++] = C;
    s->n_buckets = n;
}

/* After extract() resized the cache and mask inputs: shape inference again over
 * every node that reads a tensor whose shape changed. Reshape outputs keep their
 * stored shape except the attention width (old_w -> new_w in the last dim). */
static me_status reinfer(me_graph *g, char *changed, int64_t old_w, int64_t new_w, me_diag *d) {
    int *order = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *order), n_order = 0;
    if (!order) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    me_status st = me_graph_toposort(g, order, &n_order, d);
    for (int i = 0; i < n_order && st == ME_OK; i++) {
        me_node *n = &g->nodes[order[i]];
        bool hit = false;
        for (int k = 0; k < n->n_in; k++) hit |= n->in[k] >= 0 && changed[n->in[k]];
        if (!hit) continue;
        if (n->op == ME_OP_RESHAPE) {
            me_tensor *o = &g->tensors[n->out[0]];
            if (o->rank < 1 || o->dims[o->rank - 1] != old_w) {
                st = me_fail(d, ME_ERR_FORMAT, "node '%s': cannot resize this Reshape to a smaller context", n->name);
                break;
            }
            o->dims[o->rank - 1] = new_w;
        }
        me_tensor before[8];
        for (int k = 0; k < n->n_out && k < 8; k++) before[k] = g->tensors[n->out[k]];
        st = me_node_infer(g, n, d);
        for (int k = 0; k < n->n_out && k < 8 && st == ME_OK; k++) {
            const me_tensor *a = &before[k], *b = &g->tensors[n->out[k]];
            bool same = a->rank == b->rank;
            for (int j = 0; same && j < a->rank; j++) same = a->dims[j] == b->dims[j];
            if (!same || n->op == ME_OP_RESHAPE) changed[n->out[k]] = 1;
        }
    }
    free(order);
    return st;
}

/* Copies the nodes `sg` needs (and the tensors they touch) into dst.
 * Tensors named kv_cache.{k,v}.N become static over the session's buffers. */
static me_status extract(me_llm_session *s, const me_subgraph *sg, const char *gname, int cb, bool last_only,
                         me_graph *dst, me_diag *d) {
    const me_graph *src = &s->m->g;
    int nt = src->n_tensors, nn = src->n_nodes;
    int *map = malloc((size_t)(nt ? nt : 1) * sizeof *map);
    char *need_n = calloc((size_t)(nn ? nn : 1), 1);
    int *stack = malloc((size_t)(nt ? nt : 1) * sizeof *stack);
    const int C = (int)s->desc.hp.context_length;
    char *changed = NULL, mask_name[96];
    snprintf(mask_name, sizeof mask_name, "%s/mask", gname);
    int64_t old_w = -1, new_w = -1;
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
            const me_llm_hparams *hp = &s->desc.hp;
            if (tt->rank != 3 || tt->dims[0] != hp->n_head_kv || tt->dims[1] != C || tt->dims[2] != hp->head_dim) {
                st = me_fail(d, ME_ERR_FORMAT, "'%s' does not have the cache shape of the LLM section", tt->name);
                break;
            }
            int64_t dims[3] = {tt->dims[0], cb, tt->dims[2]};
            size_t bytes = (size_t)hp->n_head_kv * (size_t)cb * hp->head_dim * sizeof(float);
            id = me_graph_add_static_ref(dst, tt->name, tt->dtype, tt->rank, dims, buf, bytes, d);
        } else if (tt->name && strcmp(tt->name, mask_name) == 0) {
            if (tt->rank != 2 || tt->dims[1] != C + tt->dims[0]) {
                st = me_fail(d, ME_ERR_FORMAT, "'%s' is not a [T, context + T] mask", tt->name);
                break;
            }
            old_w = tt->dims[1];
            new_w = cb + tt->dims[0];
            int64_t dims[2] = {tt->dims[0], new_w};
            id = me_graph_add_tensor(dst, tt->name, tt->dtype, 2, dims, d);
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
        if (last_only && n->op == ME_OP_FULLY_CONNECTED && n->n_out == 1 && n->out[0] == sg->outputs[0] && n->n_in >= 1 &&
            ins[0] >= 0) {
            /* the LM head on one row: Gather(x, last_index) first */
            const me_tensor *x = &dst->tensors[ins[0]];
            char nm[96];
            snprintf(nm, sizeof nm, "%s/last_index", gname);
            int64_t one = 1, rd[2] = {1, x->rank == 2 ? x->dims[1] : 0};
            if (x->rank != 2) { st = me_fail(d, ME_ERR_FORMAT, "the %s LM head input is not [T, n_embd]", gname); break; }
            int li = me_graph_add_tensor(dst, nm, ME_DT_I32, 1, &one, d);
            snprintf(nm, sizeof nm, "%s/last_row", gname);
            int lr = li < 0 ? -1 : me_graph_add_tensor(dst, nm, ME_DT_F32, 2, rd, d);
            int gin[2] = {ins[0], li};
            int gn = lr < 0 ? -1 : me_graph_add_node(dst, nm, ME_OP_GATHER, gin, 2, &lr, 1, n->scope, d);
            if (gn < 0 || me_node_set_scalar_i32(dst, gn, "axis", 0) != ME_OK || me_graph_add_input(dst, li) != ME_OK) {
                st = me_fail(d, ME_ERR_NOMEM, "out of memory");
                break;
            }
            ins[0] = lr;
            dst->tensors[outs[0]].dims[0] = 1;
        }
        int id = me_graph_add_node(dst, n->name, n->op, ins, n->n_in, outs, n->n_out, n->scope, d);
        if (id < 0) { st = ME_ERR_NOMEM; break; }
        dst->nodes[id].params = n->params; /* read-only, owned by the model's graph */
        dst->nodes[id].n_params = n->n_params;
    }
    if (st == ME_OK && cb != C) {
        if (old_w < 0) st = me_fail(d, ME_ERR_FORMAT, "the %s graph has no mask input", gname);
        if (st == ME_OK && !(changed = calloc((size_t)dst->n_tensors, 1))) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
        for (int t = 0; st == ME_OK && t < dst->n_tensors; t++) {
            const char *nm = dst->tensors[t].name;
            changed[t] = nm && (strncmp(nm, "kv_cache.", 9) == 0 || strcmp(nm, mask_name) == 0);
        }
        if (st == ME_OK) st = reinfer(dst, changed, old_w, new_w, d);
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
    free(changed);
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

/* lg's executor, with the packed weights of its nodes taken from the session's copies
 * (packed once per session: the packed layout is a function of op, params, weights and
 * variant, and every graph reads the model's one copy of the weights). */
static const struct llm_pack *find_pack(const me_llm_session *s, const me_graph *g, const me_node *n, const void *v,
                                        size_t b) {
    const void *w = n->n_in > 1 && n->in[1] >= 0 ? g->tensors[n->in[1]].data : NULL;
    for (int k = 0; w && k < s->n_packs; k++)
        if (s->packs[k].op == (int)n->op && s->packs[k].params == n->params && s->packs[k].weights == w &&
            s->packs[k].variant == v && s->packs[k].bytes == b)
            return &s->packs[k];
    return NULL;
}

static me_status exec_open(me_llm_session *s, llm_graph *lg, me_diag *d) {
    me_plan plan;
    me_status st = me_plan_build(&lg->g, &plan, d);
    if (st != ME_OK) return st;
    st = me_exec_create_planned(&lg->g, &plan, &lg->exec, d);
    me_plan_free(&plan);
    if (st != ME_OK) return st;
    const me_plan *pl = &lg->exec.plan;
    /* the bytes of the packings this graph adds, then one region for them */
    size_t total = 0;
    for (int i = 0; i < pl->n_steps && st == ME_OK; i++) {
        const me_node *n = &lg->g.nodes[pl->order[i]];
        const void *v = me_exec_variant(&lg->exec, pl->order[i]);
        const size_t b = me_node_packed_bytes(&lg->g, n, v);
        if (b && !find_pack(s, &lg->g, n, v, b) && (!me_add_size(total, me_align_up(b, 64), &total) || total > SIZE_MAX / 4))
            st = me_fail(d, ME_ERR_NOMEM, "pre-packed weights size overflows");
    }
    unsigned char *region = NULL;
    const size_t huge = (size_t)2 << 20;
    size_t len = total ? me_align_up(total, huge) + huge : 0;
    if (st == ME_OK && total) {
        if (s->n_regions == s->cap_regions) {
            int cap = s->cap_regions ? 2 * s->cap_regions : 8;
            struct llm_region *nr = realloc(s->regions, (size_t)cap * sizeof *nr);
            if (!nr) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
            else s->regions = nr, s->cap_regions = cap;
        }
        void *map = st == ME_OK ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : NULL;
        if (map == MAP_FAILED) st = me_fail(d, ME_ERR_NOMEM, "out of memory packing %zu bytes of weights", total);
        if (st == ME_OK) {
            s->regions[s->n_regions++] = (struct llm_region){map, len};
            region = (unsigned char *)me_align_up((size_t)(uintptr_t)map, huge);
            madvise(region, me_align_up(total, huge), MADV_HUGEPAGE); /* a hint: 4 KB pages work too */
        }
    }
    size_t at = 0;
    for (int i = 0; i < pl->n_steps && st == ME_OK; i++) {
        const int id = pl->order[i];
        const me_node *n = &lg->g.nodes[id];
        const void *v = me_exec_variant(&lg->exec, id);
        const size_t b = me_node_packed_bytes(&lg->g, n, v);
        if (!b) continue;
        const struct llm_pack *p = find_pack(s, &lg->g, n, v, b);
        if (!p) {
            if (s->n_packs == s->cap_packs) {
                int cap = s->cap_packs ? 2 * s->cap_packs : 64;
                struct llm_pack *np = realloc(s->packs, (size_t)cap * sizeof *np);
                if (!np) {
                    st = me_fail(d, ME_ERR_NOMEM, "out of memory");
                    break;
                }
                s->packs = np, s->cap_packs = cap;
            }
            if (!region || at + b > total) {
                st = me_fail(d, ME_ERR_INTERNAL, "node '%s': packed weights larger than measured", n->name);
                break;
            }
            if ((st = me_node_pack(&lg->g, n, v, region + at, d)) != ME_OK) break;
            const void *w = n->n_in > 1 && n->in[1] >= 0 ? lg->g.tensors[n->in[1]].data : NULL;
            s->packs[s->n_packs] = (struct llm_pack){(int)n->op, n->params, w, v, b, region + at};
            p = &s->packs[s->n_packs++];
            at += me_align_up(b, 64);
        }
        st = me_exec_use_packed(&lg->exec, id, p->buf, d);
    }
    if (region) mprotect(region, me_align_up(total, (size_t)4096), PROT_READ); /* a kernel writing its weights is a bug */
    if (st != ME_OK) me_exec_free(&lg->exec);
    return st;
}

static me_status graph_open(me_llm_session *s, const char *gname, int cb, bool last_only, llm_graph *lg, me_diag *d) {
    const me_graph *src = &s->m->g;
    const me_subgraph *sg = NULL;
    for (int i = 0; i < src->n_subgraphs; i++)
        if (strcmp(src->subgraphs[i].name, gname) == 0) sg = &src->subgraphs[i];
    if (!sg) return me_fail(d, ME_ERR_FORMAT, "the artifact has no '%s' graph", gname);
    me_graph_init(&lg->g, d);
    me_status st = extract(s, sg, gname, cb, last_only, &lg->g, d);
    if (st == ME_OK) st = exec_open(s, lg, d);
    if (st != ME_OK) return st;
    lg->ready = true;
    lg->C = cb;
    lg->last_only = last_only;
    if (s->pool) me_exec_set_pool(&lg->exec, s->pool);
    const me_llm_hparams *hp = &s->desc.hp;
    int tok = me_graph_find_tensor(&lg->g, strcmp(gname, "decode") == 0 ? "decode/tokens" : "prefill/tokens");
    if (tok < 0 || lg->g.tensors[tok].rank != 1 || lg->g.tensors[tok].dims[0] < 1 || lg->g.tensors[tok].dims[0] > 65536)
        return me_fail(d, ME_ERR_FORMAT, "the %s graph has no tokens input of 1 to 65536 ids", gname);
    lg->T = (int)lg->g.tensors[tok].dims[0];
    size_t T = (size_t)lg->T, C = (size_t)cb, L = hp->n_layer;
    lg->tokens = find_io(lg, gname, "tokens", T * 4, d, &st);
    lg->positions = find_io(lg, gname, "positions", T * 4, d, &st);
    lg->mask = find_io(lg, gname, "mask", T * (C + T) * 4, d, &st);
    lg->logits = find_io(lg, gname, "logits", (last_only ? 1 : T) * hp->n_vocab * 4, d, &st);
    if (last_only) lg->last = find_io(lg, gname, "last_index", 4, d, &st);
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
    if (st == ME_OK) {
        make_buckets(s, (int)hp->context_length);
        s->layout_c = (int)hp->context_length;
    }
    /* the whole-context graphs now (they check the artifact); smaller buckets when first needed */
    llm_graph *pf = &s->prefill[s->n_buckets - 1], *dc = &s->decode[s->n_buckets - 1];
    if (st == ME_OK) st = graph_open(s, "prefill", (int)hp->context_length, false, pf, d);
    if (st == ME_OK) st = graph_open(s, "decode", (int)hp->context_length, false, dc, d);
    if (st == ME_OK && dc->T != 1) st = me_fail(d, ME_ERR_FORMAT, "the decode graph takes %d tokens, not 1", dc->T);
    if (st != ME_OK) {
        me_llm_session_destroy(s);
        return st;
    }
    *out = s;
    return ME_OK;
}

void me_llm_session_destroy(me_llm_session *s) {
    if (!s) return;
    for (int i = 0; i < s->n_buckets; i++) {
        graph_close(&s->prefill[i]);
        graph_close(&s->prefill_last[i]);
        graph_close(&s->decode[i]);
    }
    me_threadpool_destroy(s->pool);
    for (int i = 0; i < s->n_regions; i++) munmap(s->regions[i].map, s->regions[i].len);
    free(s->regions);
    free(s->packs);
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
    for (int i = 0; i < s->n_buckets; i++) {
        if (s->prefill[i].ready) me_exec_set_pool(&s->prefill[i].exec, p);
        if (s->prefill_last[i].ready) me_exec_set_pool(&s->prefill_last[i].exec, p);
        if (s->decode[i].ready) me_exec_set_pool(&s->decode[i].exec, p);
    }
    me_threadpool_destroy(s->pool);
    s->pool = p;
    return ME_OK;
}

void me_llm_session_reset(me_llm_session *s) {
    if (s) s->n_past = 0;
}

int me_llm_session_position(const me_llm_session *s) { return s ? s->n_past : 0; }

const me_llm_desc *me_llm_session_desc(const me_llm_session *s) { return &s->desc; }

/* Lays the cache buffers out for cb rows per kv head, keeping the n_past filled rows. */
static void relayout(me_llm_session *s, int cb) {
    const me_llm_hparams *hp = &s->desc.hp;
    const int oc = s->layout_c, P = s->n_past;
    if (cb == oc) return;
    const size_t hd = hp->head_dim, rows = (size_t)P * hd * sizeof(float);
    for (uint32_t l = 0; P > 0 && l < hp->n_layer; l++)
        for (int kv = 0; kv < 2; kv++) {
            float *buf = kv ? s->v_cache[l] : s->k_cache[l];
            if (cb > oc) /* heads move up: the last first */
                for (int h = (int)hp->n_head_kv - 1; h > 0; h--)
                    memmove(buf + (size_t)h * (size_t)cb * hd, buf + (size_t)h * (size_t)oc * hd, rows);
            else
                for (int h = 1; h < (int)hp->n_head_kv; h++)
                    memmove(buf + (size_t)h * (size_t)cb * hd, buf + (size_t)h * (size_t)oc * hd, rows);
        }
    s->layout_c = cb;
}

/* One run of graph lg over n <= T tokens at positions n_past.. (the cache laid out for lg->C) */
static me_status run_chunk(me_llm_session *s, llm_graph *lg, const int32_t *tokens, int n, float *logits_out,
                           bool all_rows, bool last_chunk, me_diag *d) {
    const me_llm_hparams *hp = &s->desc.hp;
    int T = lg->T, C = lg->C, CT = (int)hp->context_length, P = s->n_past;
    for (int t = 0; t < T; t++) {
        lg->tokens[t] = t < n ? tokens[t] : 0;
        int pos = P + t;
        lg->positions[t] = pos < CT ? pos : CT - 1;
        float *row = lg->mask + (size_t)t * (size_t)(C + T);
        for (int j = 0; j < C; j++) row[j] = j < P ? 0.0f : -INFINITY;
        for (int i = 0; i < T; i++) row[C + i] = (i <= t && i < n) ? 0.0f : -INFINITY;
    }
    if (lg->last_only) *lg->last = n - 1;
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
        else if (last_chunk) memcpy(logits_out, lg->logits + (lg->last_only ? 0 : (size_t)(n - 1) * V), V * sizeof(float));
    }
    s->n_past += n;
    return ME_OK;
}

/* The graph of `kind` (0 decode, 1 prefill, 2 prefill with one logits row) for the smallest context bucket holding `need` rows
 * (opened on first use), with the cache laid out for it. */
static me_status pick_graph(me_llm_session *s, int kind, int need, llm_graph **out, me_diag *d) {
    int i = 0;
    while (i < s->n_buckets - 1 && s->bucket[i] < need) i++;
    llm_graph *lg = kind == 0 ? &s->decode[i] : kind == 1 ? &s->prefill[i] : &s->prefill_last[i];
    if (!lg->ready) {
        me_graph_free(&lg->g);
        me_status st = graph_open(s, kind == 0 ? "decode" : "prefill", s->bucket[i], kind == 2, lg, d);
        if (st != ME_OK) {
            if (lg->ready) me_exec_free(&lg->exec);
            me_graph_free(&lg->g);
            memset(lg, 0, sizeof *lg);
            return st;
        }
    }
    relayout(s, lg->C);
    *out = lg;
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
    const int T = s->prefill[s->n_buckets - 1].T;
    for (int done = 0; done < n;) {
        int left = n - done;
        int k = left == 1 ? 1 : left < T ? left : T;
        llm_graph *lg;
        me_status st = pick_graph(s, left == 1 ? 0 : logits_out && all_rows ? 1 : 2, s->n_past + k, &lg, d);
        if (st != ME_OK) return st;
        float *dst = logits_out && all_rows ? logits_out + (size_t)done * hp->n_vocab : logits_out;
        st = run_chunk(s, lg, tokens + done, k, dst, all_rows, done + k == n, d);
        if (st != ME_OK) return st;
        done += k;
    }
    return ME_OK;
}
