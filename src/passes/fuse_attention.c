/* fuse_attention: scaled dot-product attention written out as PyTorch exports
 * it becomes one Attention op (src/ops/attention.c):
 *
 *     y = MatMul(Softmax(mask(scale * MatMul(q, k))), v)
 *
 * matched backwards from a Softmax over the last axis (beta 1) whose output
 * only the second MatMul reads as its left operand, with between the first
 * MatMul and the Softmax, in this order and each optional:
 *   - a scale: Multiply or Divide by a one-element constant (several fold);
 *   - a mask: Add of a float32 tensor broadcasting to the scores (mask_mode 1),
 *     or Select(bool mask, constant, scores) / Select(mask, scores, constant)
 *     (mask_mode 2 / 3);
 * and a scale on q itself (Multiply / Divide of q by a constant, read only by
 * the first MatMul), which moves onto the scores (the same values up to
 * float rounding). Neither MatMul may have a bias, a fused activation or a
 * transposed left operand; their right operands' transposes become
 * transpose_k / transpose_v. q, k and v must share their batch dims (no
 * broadcasting), every intermediate is float32, read only by the next step
 * and no graph output. Not run for a graph that will be quantised: there is
 * no integer Attention kernel. */
#include <stdio.h>
#include <string.h>

#include "pass_util.h"

enum { MAX_KILL = 12 };

static bool plain_binary(const me_node *n, int op) { return n && n->op == op && n->n_in == 2 && n->n_out == 1; }

/* A MatMul without bias, fused activation or transposed left operand. */
static bool plain_matmul(const me_node *n) {
    return plain_binary(n, ME_OP_MATMUL) && me_param_int(n, "transpose_in0", 0) == 0 &&
           !me_node_param(n, "activation");
}

/* x * c or x / c (c a one-element constant): the non-constant input, the factor. */
static int scaled_input(const me_graph *g, const me_node *n, double *factor) {
    float c;
    if (plain_binary(n, ME_OP_MULTIPLY)) {
        if (mp_scalar_value(g, n->in[1], &c)) { *factor = c; return n->in[0]; }
        if (mp_scalar_value(g, n->in[0], &c)) { *factor = c; return n->in[1]; }
    } else if (plain_binary(n, ME_OP_DIVIDE) && mp_scalar_value(g, n->in[1], &c) && c != 0.0f) {
        *factor = 1.0 / c;
        return n->in[0];
    }
    return -1;
}

/* The producer of t when t is float32, not static and read only by `reader`. */
static int chain_producer(const me_graph *g, const mp_uses *u, int t, int reader) {
    if (t < 0 || !mp_plain_f32(g, t) || mp_is_static(g, t) || mp_only_reader(g, u, t) != reader) return -1;
    return mp_producer(g, t);
}

static bool same_batch(const me_graph *g, int a, int b) {
    const me_tensor *x = &g->tensors[a], *y = &g->tensors[b];
    if (x->rank != y->rank || x->rank < 2) return false;
    for (int i = 0; i < x->rank - 2; i++)
        if (x->dims[i] != y->dims[i]) return false;
    return true;
}

static me_status try_fuse(me_graph *g, mp_uses *u, int smn, const void *arg, me_diag *d) {
    (void)arg;
    const me_node *sm = &g->nodes[smn];
    if (sm->op != ME_OP_SOFTMAX || sm->n_in != 1 || sm->n_out != 1 || me_param_float(sm, "beta", 1.0) != 1.0) return ME_OK;
    int rank = g->tensors[sm->in[0]].rank;
    int64_t axis = me_param_int(sm, "axis", rank - 1);
    if (rank < 2 || (axis != rank - 1 && axis != -1)) return ME_OK;
    int kill[MAX_KILL], nk = 0;
    kill[nk++] = smn;
    /* the second MatMul reads the probabilities as its left operand */
    int p = sm->out[0];
    int mm2 = mp_only_reader(g, u, p);
    if (mm2 < 0 || !plain_matmul(&g->nodes[mm2]) || g->nodes[mm2].in[0] != p || g->nodes[mm2].in[1] == p ||
        !mp_plain_f32(g, p) || !mp_plain_f32(g, g->nodes[mm2].out[0]))
        return ME_OK;
    kill[nk++] = mm2;
    /* backwards from the Softmax: mask, then scales, then the first MatMul */
    double scale = 1.0;
    int mode = 0, mask = -1, fill = -1;
    int reader = smn, t = sm->in[0], pn = chain_producer(g, u, t, reader);
    if (pn >= 0 && plain_binary(&g->nodes[pn], ME_OP_ADD)) {
        const me_node *add = &g->nodes[pn];
        /* the scores are the operand with the output's shape; the other one the mask */
        int si = mp_same_shape(g, add->in[0], add->out[0]) ? 0 : 1, mi = 1 - si;
        if (mp_same_shape(g, add->in[si], add->out[0]) && mp_plain_f32(g, add->in[mi]) &&
            g->tensors[add->in[mi]].rank <= rank) {
            mode = 1;
            mask = add->in[mi];
            kill[nk++] = pn;
            reader = pn;
            t = add->in[si];
            pn = chain_producer(g, u, t, reader);
        }
    } else if (pn >= 0 && g->nodes[pn].op == ME_OP_SELECT && g->nodes[pn].n_in == 3 && g->nodes[pn].n_out == 1) {
        const me_node *sel = &g->nodes[pn];
        float c;
        int cond = sel->in[0];
        bool fill_true = mp_scalar_value(g, sel->in[1], &c), fill_false = !fill_true && mp_scalar_value(g, sel->in[2], &c);
        int s = fill_true ? sel->in[2] : sel->in[1];
        if ((fill_true || fill_false) && cond >= 0 && g->tensors[cond].dtype == ME_DT_BOOL &&
            g->tensors[cond].rank <= rank && mp_same_shape(g, s, sel->out[0])) {
            mode = fill_true ? 2 : 3;
            mask = cond;
            fill = fill_true ? sel->in[1] : sel->in[2];
            kill[nk++] = pn;
            reader = pn;
            t = s;
            pn = chain_producer(g, u, t, reader);
        }
    }
    double f;
    int x;
    while (pn >= 0 && nk < MAX_KILL - 2 && (x = scaled_input(g, &g->nodes[pn], &f)) >= 0 && mp_same_shape(g, x, t)) {
        scale *= f;
        kill[nk++] = pn;
        reader = pn;
        t = x;
        pn = chain_producer(g, u, t, reader);
    }
    if (pn < 0 || !plain_matmul(&g->nodes[pn])) return ME_OK;
    int mm1 = pn;
    kill[nk++] = mm1;
    int q = g->nodes[mm1].in[0], k = g->nodes[mm1].in[1], v = g->nodes[mm2].in[1];
    /* a scale on q itself */
    int qn = chain_producer(g, u, q, mm1);
    if (qn >= 0 && (x = scaled_input(g, &g->nodes[qn], &f)) >= 0 && mp_same_shape(g, x, q) && mp_plain_f32(g, x)) {
        scale *= f;
        kill[nk++] = qn;
        q = x;
    }
    if (!mp_plain_f32(g, q) || !mp_plain_f32(g, k) || !mp_plain_f32(g, v) || !same_batch(g, q, k) ||
        !same_batch(g, q, v) || g->tensors[q].rank != rank)
        return ME_OK;
    int y = g->nodes[mm2].out[0];
    int in[5] = {q, k, v, mask, fill};
    int n_in = mode == 0 ? 3 : mode == 1 ? 4 : 5;
    int64_t tk = me_param_int(&g->nodes[mm1], "transpose_in1", 0), tv = me_param_int(&g->nodes[mm2], "transpose_in1", 0);
    char name[512];
    snprintf(name, sizeof name, "%.480s_attention", sm->name);
    const char *scope = sm->scope;
    for (int i = 0; i < nk; i++) mp_kill(g, u, kill[i]);
    int id = mp_add_node(g, u, name, ME_OP_ATTENTION, in, n_in, &y, 1, scope, d);
    if (id < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", name);
    me_status s = me_node_set_scalar_f32(g, id, "scale", (float)scale);
    if (s == ME_OK && tk) s = me_node_set_scalar_bool(g, id, "transpose_k", true);
    if (s == ME_OK && tv) s = me_node_set_scalar_bool(g, id, "transpose_v", true);
    if (s == ME_OK && mode) s = me_node_set_scalar_u32(g, id, "mask_mode", (uint32_t)mode);
    for (int i = 0; s == ME_OK && i < nk; i++) s = mp_absorb_sources(g, id, kill[i]);
    if (s != ME_OK) return me_fail(d, s, "out of memory fusing '%s'", name);
    return ME_OK;
}

me_status me_pass_fuse_attention(me_graph *g, const me_pass_options *o, me_diag *d) {
    if (o && o->quantize) return ME_OK;
    return mp_each_node(g, try_fuse, NULL, d);
}
