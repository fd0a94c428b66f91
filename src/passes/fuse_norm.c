/* fuse_norm: LayerNorm and RMSNorm written out in element-wise ops (ONNX
 * exports before opset 17, Hugging Face RMSNorm) become one LayerNorm /
 * RmsNorm node.
 *   LayerNorm: m = ReduceMean(x), d = x - m, v = ReduceMean(d^2) (Pow(d, 2)
 *              or d * d), y = d / Sqrt(v + eps)
 *   RMSNorm:   v = ReduceMean(x^2), y = x * r with r = 1 / Sqrt(v + eps)
 *              (Reciprocal, or Divide(1, .)) or r = Rsqrt(v + eps), or
 *              y = x / Sqrt(v + eps)
 * each optionally followed by Multiply(., gamma) and (LayerNorm) Add(., beta)
 * with static float32 gamma / beta that vary only along the normalised axes.
 * Both ReduceMeans keep their dims and reduce the same axes; eps is a static
 * scalar. Every intermediate tensor must be read only inside the pattern and
 * be no graph output; everything is float32 and keeps x's shape. */
#include <stdio.h>
#include <string.h>

#include "pass_util.h"

static const me_node *node_of(const me_graph *g, int i) { return i >= 0 ? &g->nodes[i] : NULL; }

static bool is_op(const me_node *n, int op, int n_in) {
    return n && n->op == op && n->n_in == n_in && n->n_out == 1;
}

/* Binary node n reads t and a static scalar: the scalar's value. */
static bool op_with_scalar(const me_graph *g, const me_node *n, int op, int t, float *c) {
    if (!is_op(n, op, 2)) return false;
    if (n->in[0] == t && mp_scalar_value(g, n->in[1], c)) return true;
    bool commutes = op == ME_OP_ADD || op == ME_OP_MULTIPLY;
    return commutes && n->in[1] == t && mp_scalar_value(g, n->in[0], c);
}

/* ReduceMean over some axes with keep_dims; the axes as a mask. */
static bool reduce_mean_axes(const me_graph *g, const me_node *n, bool *mask) {
    if (!is_op(n, ME_OP_REDUCE_MEAN, 1) || me_param_int(n, "keep_dims", 0) != 1) return false;
    const me_param *p = me_node_param(n, "axes");
    int rank = g->tensors[n->in[0]].rank;
    if (!p || p->kind != ME_PARAM_TENSOR || !p->ivals || p->count < 1 || p->count > rank) return false;
    memset(mask, 0, ME_MAX_RANK * sizeof *mask);
    for (int64_t i = 0; i < p->count; i++) {
        if (p->ivals[i] < 0 || p->ivals[i] >= rank || mask[p->ivals[i]]) return false;
        mask[p->ivals[i]] = true;
    }
    return true;
}

/* Static float32 t broadcasts against x (right-aligned) varying only along
 * the normalised axes: what LayerNorm / RmsNorm take as gamma / beta. */
static bool affine_ok(const me_graph *g, int t, int x, const bool *mask) {
    const me_tensor *tt = &g->tensors[t], *xt = &g->tensors[x];
    if (!mp_is_static(g, t) || !mp_plain_f32(g, t) || !tt->data || tt->rank > xt->rank) return false;
    for (int j = 0; j < tt->rank; j++) {
        int a = xt->rank - tt->rank + j;
        if (tt->dims[j] != 1 && (!mask[a] || tt->dims[j] != xt->dims[a])) return false;
    }
    return true;
}

/* Node reading y together with a static affine operand (Multiply: either
 * order; Add: either order); the operand in *t, or -1. */
static int affine_after(const me_graph *g, const mp_uses *u, int y, int op, int x, const bool *mask, int *t) {
    int n = mp_only_reader(g, u, y);
    const me_node *nn = node_of(g, n);
    if (!is_op(nn, op, 2)) return -1;
    int o = nn->in[0] == y ? nn->in[1] : nn->in[0];
    if ((nn->in[0] == y) == (nn->in[1] == y) || !affine_ok(g, o, x, mask)) return -1;
    if (!mp_plain_f32(g, nn->out[0]) || !mp_same_shape(g, nn->out[0], x)) return -1;
    *t = o;
    return n;
}

typedef struct match {
    int x, op;
    int nodes[12], n_nodes;
    int y, gamma, beta;
    float eps;
    bool mask[ME_MAX_RANK];
} match;

/* v = ReduceMean(q) with keep_dims -> Add eps -> s = Sqrt: fills eps, mask
 * and the nodes; returns the Add's output (for Rsqrt) via *a, Sqrt's via *s
 * (or -1 when the Add feeds an Rsqrt). */
static bool variance_tail(const me_graph *g, const mp_uses *u, int q, match *m, int *a_out, int *s_out) {
    int rn = mp_only_reader(g, u, q);
    if (!reduce_mean_axes(g, node_of(g, rn), m->mask)) return false;
    m->nodes[m->n_nodes++] = rn;
    int v = g->nodes[rn].out[0];
    int an = mp_only_reader(g, u, v);
    if (!op_with_scalar(g, node_of(g, an), ME_OP_ADD, v, &m->eps) || !(m->eps >= 0.0f)) return false;
    m->nodes[m->n_nodes++] = an;
    int a = g->nodes[an].out[0];
    *a_out = a;
    int sn = mp_only_reader(g, u, a);
    const me_node *s = node_of(g, sn);
    if (is_op(s, ME_OP_SQRT, 1)) {
        m->nodes[m->n_nodes++] = sn;
        *s_out = s->out[0];
        return true;
    }
    if (is_op(s, ME_OP_RSQRT, 1)) {
        m->nodes[m->n_nodes++] = sn;
        *s_out = -1;
        *a_out = s->out[0]; /* already 1/sqrt */
        return true;
    }
    return false;
}

/* q = Pow(t, 2) or Multiply(t, t), read only by the next step: its output. */
static int square_of(const me_graph *g, const me_node *n, int t) {
    float c;
    if (op_with_scalar(g, n, ME_OP_POWER, t, &c) && c == 2.0f) return n->out[0];
    if (is_op(n, ME_OP_MULTIPLY, 2) && n->in[0] == t && n->in[1] == t) return n->out[0];
    return -1;
}

/* The readers of t other than `skip`: up to two distinct nodes. */
static int readers(const mp_uses *u, int t, int *r, int max) {
    int n = 0;
    for (int i = 0; i < mp_use_count(u, t); i++) {
        int node = u->t[t].v[i].node, seen = 0;
        for (int j = 0; j < n; j++) seen |= r[j] == node;
        if (seen) continue;
        if (n == max) return -1;
        r[n++] = node;
    }
    return n;
}

/* LayerNorm from its first ReduceMean (node mn). */
static bool match_layernorm(const me_graph *g, const mp_uses *u, int mn, match *m) {
    const me_node *mean = &g->nodes[mn];
    bool mask0[ME_MAX_RANK];
    if (!reduce_mean_axes(g, mean, mask0)) return false;
    int x = mean->in[0], mo = mean->out[0];
    int dn = mp_only_reader(g, u, mo);
    const me_node *sub = node_of(g, dn);
    if (!is_op(sub, ME_OP_SUBTRACT, 2) || sub->in[0] != x || sub->in[1] != mo) return false;
    int dt = sub->out[0];
    if (mp_is_output(g, dt)) return false;
    /* d is read by the square and the Divide */
    int r[2];
    if (readers(u, dt, r, 2) != 2) return false;
    int qn = -1, divn = -1;
    for (int i = 0; i < 2; i++) {
        const me_node *n = &g->nodes[r[i]];
        if (square_of(g, n, dt) >= 0) qn = r[i];
        else if (is_op(n, ME_OP_DIVIDE, 2) && n->in[0] == dt && n->in[1] != dt) divn = r[i];
    }
    if (qn < 0 || divn < 0) return false;
    m->x = x;
    m->op = ME_OP_LAYER_NORM;
    m->n_nodes = 0;
    m->nodes[m->n_nodes++] = mn;
    m->nodes[m->n_nodes++] = dn;
    m->nodes[m->n_nodes++] = qn;
    int a, s;
    if (!variance_tail(g, u, g->nodes[qn].out[0], m, &a, &s) || s < 0) return false;
    if (memcmp(mask0, m->mask, sizeof mask0) != 0) return false;
    if (g->nodes[divn].in[1] != s || mp_only_reader(g, u, s) != divn) return false;
    m->nodes[m->n_nodes++] = divn;
    m->y = g->nodes[divn].out[0];
    return true;
}

/* RMSNorm from its square (node qn). */
static bool match_rmsnorm(const me_graph *g, const mp_uses *u, int qn, match *m) {
    const me_node *q = &g->nodes[qn];
    if (q->n_in < 1) return false;
    int x = q->in[0];
    if (square_of(g, q, x) < 0) return false;
    m->x = x;
    m->op = ME_OP_RMS_NORM;
    m->n_nodes = 0;
    m->nodes[m->n_nodes++] = qn;
    int a, s;
    if (!variance_tail(g, u, q->out[0], m, &a, &s)) return false;
    int last;
    if (s >= 0) {
        int n1 = mp_only_reader(g, u, s);
        const me_node *f = node_of(g, n1);
        float one;
        if (is_op(f, ME_OP_DIVIDE, 2) && f->in[0] == x && f->in[1] == s) { /* x / s */
            m->nodes[m->n_nodes++] = n1;
            m->y = f->out[0];
            return true;
        }
        if (is_op(f, ME_OP_RECIPROCAL, 1) ||
            (is_op(f, ME_OP_DIVIDE, 2) && f->in[1] == s && mp_scalar_value(g, f->in[0], &one) && one == 1.0f)) {
            m->nodes[m->n_nodes++] = n1;
            last = f->out[0];
        } else {
            return false;
        }
    } else {
        last = a; /* the Rsqrt's output */
    }
    /* y = x * r */
    int mn = mp_only_reader(g, u, last);
    const me_node *mul = node_of(g, mn);
    if (!is_op(mul, ME_OP_MULTIPLY, 2) || !((mul->in[0] == x && mul->in[1] == last) || (mul->in[1] == x && mul->in[0] == last)))
        return false;
    m->nodes[m->n_nodes++] = mn;
    m->y = mul->out[0];
    return true;
}

static me_status rewrite(me_graph *g, mp_uses *u, match *m, me_diag *d) {
    int x = m->x;
    if (!mp_plain_f32(g, x) || mp_is_static(g, x)) return ME_OK;
    /* x is read by the pattern's first nodes and maybe elsewhere; every
     * intermediate stays inside, keeps x's shape or is x's reduced shape */
    for (int i = 0; i < m->n_nodes; i++) {
        int t = g->nodes[m->nodes[i]].out[0];
        if (!mp_plain_f32(g, t)) return ME_OK;
    }
    if (!mp_same_shape(g, m->y, x)) return ME_OK;
    /* optional gamma, then (LayerNorm) beta */
    m->gamma = m->beta = -1;
    int n = affine_after(g, u, m->y, ME_OP_MULTIPLY, x, m->mask, &m->gamma);
    if (n >= 0) {
        m->nodes[m->n_nodes++] = n;
        m->y = g->nodes[n].out[0];
    }
    if (m->op == ME_OP_LAYER_NORM) {
        n = affine_after(g, u, m->y, ME_OP_ADD, x, m->mask, &m->beta);
        if (n >= 0) {
            m->nodes[m->n_nodes++] = n;
            m->y = g->nodes[n].out[0];
        }
    }
    int rank = g->tensors[x].rank;
    int64_t axes[ME_MAX_RANK], na = 0;
    for (int a = 0; a < rank; a++)
        if (m->mask[a]) axes[na++] = a;
    const me_node *first = &g->nodes[m->nodes[0]];
    char name[512];
    snprintf(name, sizeof name, "%.480s_%s", first->name, m->op == ME_OP_LAYER_NORM ? "layer_norm" : "rms_norm");
    const char *scope = first->scope;
    for (int i = 0; i < m->n_nodes; i++) mp_kill(g, u, m->nodes[i]);
    int in[3] = {x, m->gamma, m->beta};
    int nin = m->beta >= 0 ? 3 : m->gamma >= 0 ? 2 : 1;
    int id = mp_add_node(g, u, name, m->op, in, nin, &m->y, 1, scope, d);
    if (id < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", name);
    int64_t ad[1] = {na};
    me_status st = me_node_set_scalar_f32(g, id, "epsilon", m->eps);
    if (st == ME_OK) st = me_node_set_tensor_int(g, id, "axes", ME_DT_U32, 1, ad, axes);
    for (int i = 0; st == ME_OK && i < m->n_nodes; i++) st = mp_absorb_sources(g, id, m->nodes[i]);
    if (st != ME_OK) return me_fail(d, st, "out of memory fusing '%s'", name);
    return ME_OK;
}

/* The pattern's intermediates must be read only inside it (checked while
 * matching with only_reader / readers) and no intermediate may be x itself. */
static me_status try_fuse(me_graph *g, mp_uses *u, int i, const void *arg, me_diag *d) {
    (void)arg;
    match m;
    memset(&m, 0, sizeof m);
    const me_node *n = &g->nodes[i];
    bool ok = false;
    if (n->op == ME_OP_REDUCE_MEAN) ok = match_layernorm(g, u, i, &m);
    else if (n->op == ME_OP_POWER || n->op == ME_OP_MULTIPLY) ok = match_rmsnorm(g, u, i, &m);
    if (!ok) return ME_OK;
    return rewrite(g, u, &m, d);
}

me_status me_pass_fuse_norm(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    return mp_each_node(g, try_fuse, NULL, d);
}
