/* fold_batchnorm: a per-channel affine y = x*w[c] + b[c] (Batchnorm, or a
 * Multiply/Add/Subtract/Divide by a static per-channel constant) right after
 * a Conv2d / DepthWiseConv2d / TransposeConv2d / FullyConnected whose output
 * only it reads is folded into that producer's weights and bias. Channels are
 * the last axis of the activation (NHWC). Everything must be float32 and
 * static; otherwise the affine op stays (it is a valid op on its own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "pass_util.h"

typedef struct affine {
    int x;            /* the activation input */
    float *w, *b;     /* [channels], malloc'd */
} affine;

/* A static constant that broadcasts along the last axis only: every dim but
 * the last is 1, and the last is `c` or 1. Returns its element count or -1. */
static int64_t per_channel_count(const me_graph *g, int s, int x_rank, int64_t c) {
    const me_tensor *t = &g->tensors[s];
    if (!mp_is_static(g, s) || !mp_plain_f32(g, s) || t->rank > x_rank) return -1;
    for (int i = 0; i + 1 < t->rank; i++)
        if (t->dims[i] != 1) return -1;
    int64_t last = t->rank ? t->dims[t->rank - 1] : 1;
    if (last != c && last != 1) return -1;
    return last;
}

/* Describe node n as an affine per-channel op over `c` channels, or fail. */
static bool as_affine(const me_graph *g, const me_node *n, affine *a) {
    memset(a, 0, sizeof *a);
    if (n->n_out != 1 || n->n_in < 1) return false;
    int y = n->out[0];
    const me_tensor *yt = &g->tensors[y];
    if (!mp_plain_f32(g, y) || yt->rank < 1) return false;
    int64_t c = yt->dims[yt->rank - 1];
    if (c <= 0 || c > (1 << 24)) return false;
    int x = -1, s = -1, s2 = -1;
    int64_t ns = -1, ns2 = -1;
    switch (n->op) {
    case ME_OP_BATCHNORM:
        x = n->in[0];
        s = n->n_in > 1 ? n->in[1] : -1;
        s2 = n->n_in > 2 ? n->in[2] : -1;
        if (s < 0) return false;
        ns = per_channel_count(g, s, yt->rank, c);
        if (ns < 0 || (s2 >= 0 && (ns2 = per_channel_count(g, s2, yt->rank, c)) < 0)) return false;
        break;
    case ME_OP_MULTIPLY: case ME_OP_ADD:
        if (n->n_in != 2) return false;
        x = mp_is_static(g, n->in[0]) ? n->in[1] : n->in[0];
        s = x == n->in[0] ? n->in[1] : n->in[0];
        if ((ns = per_channel_count(g, s, yt->rank, c)) < 0) return false;
        break;
    case ME_OP_SUBTRACT: case ME_OP_DIVIDE:
        if (n->n_in != 2) return false;
        x = n->in[0];
        s = n->in[1];
        if ((ns = per_channel_count(g, s, yt->rank, c)) < 0) return false;
        break;
    default:
        return false;
    }
    /* The op must not broadcast x up: same shape in and out. */
    const me_tensor *xt = &g->tensors[x];
    if (mp_is_static(g, x) || !mp_plain_f32(g, x) || xt->rank != yt->rank) return false;
    for (int i = 0; i < xt->rank; i++)
        if (xt->dims[i] != yt->dims[i]) return false;
    a->w = malloc((size_t)c * sizeof(float));
    a->b = malloc((size_t)c * sizeof(float));
    if (!a->w || !a->b) { free(a->w); free(a->b); return false; }
    const float *sv = mp_f32(g, s), *sv2 = s2 >= 0 ? mp_f32(g, s2) : NULL;
    bool ok = true;
    for (int64_t i = 0; i < c; i++) {
        float v = sv[ns == 1 ? 0 : i];
        float v2 = sv2 ? sv2[ns2 == 1 ? 0 : i] : 0.0f;
        switch (n->op) {
        case ME_OP_BATCHNORM: a->w[i] = v; a->b[i] = v2; break;
        case ME_OP_MULTIPLY: a->w[i] = v; a->b[i] = 0; break;
        case ME_OP_ADD: a->w[i] = 1; a->b[i] = v; break;
        case ME_OP_SUBTRACT: a->w[i] = 1; a->b[i] = -v; break;
        default: /* DIVIDE */
            if (v == 0.0f) ok = false;
            a->w[i] = 1.0f / v; a->b[i] = 0; break;
        }
    }
    if (!ok) { free(a->w); free(a->b); return false; }
    a->x = x;
    return true;
}

/* Output channel of weight element e, or -1 if the layout is unknown. */
typedef struct wmap { int op; int64_t cout, cin, cpg, groups, n_in_fc; } wmap;

static int64_t weight_channel(const wmap *m, int64_t e) {
    switch (m->op) {
    case ME_OP_CONV2D: case ME_OP_DEPTHWISE_CONV2D: return e % m->cout;
    case ME_OP_TRANSPOSE_CONV2D: {
        /* [fh, fw, cin, cout/g]: input channel ci belongs to group ci/(cin/g) */
        int64_t j = e % m->cpg, ci = (e / m->cpg) % m->cin;
        return (ci / (m->cin / m->groups)) * m->cpg + j;
    }
    default: return e / m->n_in_fc; /* FullyConnected [out, in] */
    }
}

static bool describe_weights(const me_graph *g, const me_node *p, wmap *m) {
    memset(m, 0, sizeof *m);
    m->op = p->op;
    const me_tensor *w = &g->tensors[p->in[1]];
    switch (p->op) {
    case ME_OP_CONV2D: case ME_OP_DEPTHWISE_CONV2D:
        if (w->rank != 4) return false;
        m->cout = w->dims[3];
        return true;
    case ME_OP_TRANSPOSE_CONV2D:
        if (w->rank != 4) return false;
        m->groups = me_param_int(p, "group", 1);
        m->cin = w->dims[2];
        m->cpg = w->dims[3];
        if (m->groups < 1 || m->cin % m->groups || !me_mul_i64(m->cpg, m->groups, &m->cout)) return false;
        return true;
    case ME_OP_FULLY_CONNECTED:
        if (w->rank != 2) return false;
        m->cout = w->dims[0];
        m->n_in_fc = w->dims[1];
        return m->n_in_fc > 0;
    default: return false;
    }
}

static me_status ensure_bias_slot(me_graph *g, int node) {
    me_node *n = &g->nodes[node];
    if (n->n_in >= 3) return ME_OK;
    int *in = me_arena_calloc(&g->arena, 3, sizeof(int));
    if (!in) return ME_ERR_NOMEM;
    for (int k = 0; k < 3; k++) in[k] = k < n->n_in ? n->in[k] : -1;
    n->in = in;
    n->n_in = 3;
    return ME_OK;
}

/* Fold affine node `an` into producer `pn`. Returns true if folded. */
static me_status try_fold(me_graph *g, mp_uses *u, int an, bool *folded, me_diag *d) {
    *folded = false;
    affine a;
    if (!as_affine(g, &g->nodes[an], &a)) return ME_OK;
    me_status st = ME_OK;
    int pn = mp_producer(g, a.x);
    if (pn < 0 || mp_is_output(g, a.x) || mp_single_consumer(u, a.x) != an) goto out;
    const me_node *p = &g->nodes[pn];
    if (p->op != ME_OP_CONV2D && p->op != ME_OP_DEPTHWISE_CONV2D && p->op != ME_OP_TRANSPOSE_CONV2D &&
        p->op != ME_OP_FULLY_CONNECTED)
        goto out;
    if (p->n_out != 1 || p->out[0] != a.x || p->n_in < 2 || me_param_int(p, "activation", 0) != 0) goto out;
    int wt = p->in[1], bt = p->n_in > 2 ? p->in[2] : -1;
    if (!mp_is_static(g, wt) || !mp_plain_f32(g, wt)) goto out;
    wmap m;
    if (!describe_weights(g, p, &m)) goto out;
    const me_tensor *xt = &g->tensors[a.x];
    if (m.cout != xt->dims[xt->rank - 1]) goto out;
    if (bt >= 0 && (!mp_is_static(g, bt) || !mp_plain_f32(g, bt) || me_tensor_numel(&g->tensors[bt]) != m.cout)) goto out;

    const me_tensor *w = &g->tensors[wt];
    int64_t nw = me_tensor_numel(w);
    size_t wbytes = me_tensor_nbytes(w);
    float *nwv = me_arena_alloc(&g->arena, wbytes);
    float *nbv = me_arena_calloc(&g->arena, (size_t)m.cout, sizeof(float));
    if (!nwv || !nbv) { st = me_fail(d, ME_ERR_NOMEM, "out of memory folding '%s'", g->nodes[an].name); goto out; }
    const float *wv = mp_f32(g, wt);
    for (int64_t e = 0; e < nw; e++) nwv[e] = wv[e] * a.w[weight_channel(&m, e)];
    const float *bv = bt >= 0 ? mp_f32(g, bt) : NULL;
    for (int64_t c = 0; c < m.cout; c++) nbv[c] = (float)((double)a.b[c] + (double)a.w[c] * (bv ? bv[c] : 0.0));

    char name[512];
    snprintf(name, sizeof name, "%.480s_folded", w->name);
    int new_w = mp_add_static(g, u, name, ME_DT_F32, w->rank, w->dims, nwv, wbytes, d);
    if (new_w < 0) { st = ME_ERR_NOMEM; goto out; }
    snprintf(name, sizeof name, "%.480s_bias", g->nodes[pn].name);
    int64_t bd[1] = {m.cout};
    int new_b = mp_add_static(g, u, name, ME_DT_F32, 1, bd, nbv, (size_t)m.cout * sizeof(float), d);
    if (new_b < 0) { st = ME_ERR_NOMEM; goto out; }
    if ((st = ensure_bias_slot(g, pn)) != ME_OK) { me_diag_add(d, "out of memory"); goto out; }
    if ((st = mp_set_input(g, u, pn, 1, new_w, d)) != ME_OK) goto out;
    if ((st = mp_set_input(g, u, pn, 2, new_b, d)) != ME_OK) goto out;
    int y = g->nodes[an].out[0];
    mp_kill(g, u, an);
    mp_set_output(g, pn, 0, y);
    if ((st = mp_absorb_sources(g, pn, an)) != ME_OK) { me_diag_add(d, "out of memory"); goto out; }
    if (mp_use_count(u, wt) == 0 && !mp_is_output(g, wt)) me_graph_release_static(g, wt);
    if (bt >= 0 && mp_use_count(u, bt) == 0 && !mp_is_output(g, bt)) me_graph_release_static(g, bt);
    *folded = true;
out:
    free(a.w);
    free(a.b);
    return st;
}

me_status me_pass_fold_batchnorm(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    if (st != ME_OK) return st;
    /* Repeat so a chain (Conv -> BN -> Mul -> Add) folds completely. */
    for (bool changed = true; changed && st == ME_OK;) {
        changed = false;
        int nn = g->n_nodes; /* folding adds no nodes */
        for (int i = 0; i < nn && st == ME_OK; i++) {
            if (g->nodes[i].dead) continue;
            bool folded;
            st = try_fold(g, &u, i, &folded, d);
            changed |= folded;
        }
    }
    mp_uses_free(&u);
    return st;
}
