/* fuse_gelu: the erf form of GELU as ONNX exporters decompose it,
 *     y = x * (Erf(x / sqrt(2)) + 1) * 0.5
 * becomes one Gelu(x) (QNN's Gelu is this erf form). Accepted: x / sqrt2 or
 * x * (1/sqrt2) into the Erf; Erf + 1 in either operand order; then
 * (x * A) * 0.5, (x * 0.5) * A or x * (A * 0.5), every Multiply in either
 * operand order. The constants are static float32 scalars (any rank, one
 * element); sqrt2 is matched to float precision, 1 and 0.5 exactly. Every
 * intermediate tensor must be read only by the pattern and be no graph output;
 * all the tensors must have x's shape (no broadcasting up). The tanh
 * approximation is a different function and stays as it is. */
#include <math.h>
#include <stdio.h>

#include "pass_util.h"

/* Binary node n = op(v, c) or op(c, v) (when `commutes`) with c a static
 * scalar: the other operand in *v, c's value in *c. */
static bool with_scalar(const me_graph *g, const me_node *n, int op, bool commutes, int *v, float *c) {
    if (n->op != op || n->n_in != 2 || n->n_out != 1) return false;
    if (mp_scalar_value(g, n->in[1], c) && !mp_is_static(g, n->in[0])) { *v = n->in[0]; return true; }
    if (commutes && mp_scalar_value(g, n->in[0], c) && !mp_is_static(g, n->in[1])) { *v = n->in[1]; return true; }
    return false;
}

/* The other operand of Multiply node n when one of them is t, or -1. */
static int mul_other(const me_node *n, int t) {
    if (n->op != ME_OP_MULTIPLY || n->n_in != 2 || n->n_out != 1) return -1;
    if (n->in[0] == t && n->in[1] != t) return n->in[1];
    if (n->in[1] == t && n->in[0] != t) return n->in[0];
    return -1;
}

static bool near(float v, double want) { return fabs((double)v - want) <= 1e-6 * want; }

static me_status try_fuse(me_graph *g, mp_uses *u, int en, const void *arg, me_diag *d) {
    (void)arg;
    const me_node *e = &g->nodes[en];
    if (e->op != ME_OP_ERF || e->n_in != 1 || e->n_out != 1) return ME_OK;
    int kill[6], nk = 0;
    /* s = x / sqrt2 (or x * 1/sqrt2) */
    int s = e->in[0], sn = mp_producer(g, s), x = -1;
    float c;
    if (sn < 0 || mp_only_reader(g, u, s) != en) return ME_OK;
    if (with_scalar(g, &g->nodes[sn], ME_OP_DIVIDE, false, &x, &c)) {
        if (!near(c, M_SQRT2)) return ME_OK;
    } else if (with_scalar(g, &g->nodes[sn], ME_OP_MULTIPLY, true, &x, &c)) {
        if (!near(c, M_SQRT1_2)) return ME_OK;
    } else {
        return ME_OK;
    }
    kill[nk++] = sn;
    kill[nk++] = en;
    /* a = Erf(..) + 1 */
    int er = e->out[0], an = mp_only_reader(g, u, er), v;
    if (an < 0 || !with_scalar(g, &g->nodes[an], ME_OP_ADD, true, &v, &c) || v != er || c != 1.0f) return ME_OK;
    kill[nk++] = an;
    int a = g->nodes[an].out[0];
    int y = -1;
    int n1 = mp_only_reader(g, u, a);
    if (n1 < 0) return ME_OK;
    int o = mul_other(&g->nodes[n1], a);
    if (o == x) {
        /* (x * A) * 0.5 */
        int p = g->nodes[n1].out[0], n2 = mp_only_reader(g, u, p);
        if (n2 < 0 || !with_scalar(g, &g->nodes[n2], ME_OP_MULTIPLY, true, &v, &c) || v != p || c != 0.5f) return ME_OK;
        kill[nk++] = n1;
        kill[nk++] = n2;
        y = g->nodes[n2].out[0];
    } else if (o >= 0 && with_scalar(g, &g->nodes[n1], ME_OP_MULTIPLY, true, &v, &c)) {
        /* x * (A * 0.5) */
        if (v != a || c != 0.5f) return ME_OK;
        int h = g->nodes[n1].out[0], n2 = mp_only_reader(g, u, h);
        if (n2 < 0 || mul_other(&g->nodes[n2], h) != x) return ME_OK;
        kill[nk++] = n1;
        kill[nk++] = n2;
        y = g->nodes[n2].out[0];
    } else if (o >= 0) {
        /* (x * 0.5) * A */
        int hn = mp_producer(g, o);
        if (hn < 0 || mp_only_reader(g, u, o) != n1 || !with_scalar(g, &g->nodes[hn], ME_OP_MULTIPLY, true, &v, &c) ||
            v != x || c != 0.5f)
            return ME_OK;
        kill[nk++] = hn;
        kill[nk++] = n1;
        y = g->nodes[n1].out[0];
    } else {
        return ME_OK;
    }
    /* float32 throughout, no broadcasting */
    if (!mp_plain_f32(g, x) || mp_is_static(g, x)) return ME_OK;
    for (int i = 0; i < nk; i++) {
        int t = g->nodes[kill[i]].out[0];
        if (!mp_plain_f32(g, t) || !mp_same_shape(g, t, x)) return ME_OK;
    }
    char name[512];
    snprintf(name, sizeof name, "%.480s_gelu", e->name);
    const char *scope = e->scope;
    for (int i = 0; i < nk; i++) mp_kill(g, u, kill[i]);
    int gn = mp_add_node(g, u, name, ME_OP_GELU, &x, 1, &y, 1, scope, d);
    if (gn < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", name);
    for (int i = 0; i < nk; i++)
        if (mp_absorb_sources(g, gn, kill[i]) != ME_OK) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", name);
    return ME_OK;
}

me_status me_pass_fuse_gelu(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    return mp_each_node(g, try_fuse, NULL, d);
}
