/* fuse_softmax: softmax written out in element-wise ops,
 *     y = Exp(t) / ReduceSum(Exp(t)),  t = x - ReduceMax(x)  or  t = x,
 * both reductions over the same single axis with keep_dims, becomes one
 * Softmax(x, axis). Exp's output must be read by exactly the ReduceSum and
 * the Divide, every other intermediate only by the next step, and none may
 * be a graph output; float32 throughout. Without the max subtraction the
 * written-out form overflows for inputs above ~88 where Softmax does not;
 * elsewhere both give the same values. */
#include <stdio.h>
#include <string.h>

#include "pass_util.h"

static bool is_op(const me_node *n, int op, int n_in) { return n && n->op == op && n->n_in == n_in && n->n_out == 1; }

/* A reduction over one axis with keep_dims: the axis, or -1. */
static int reduce_axis(const me_graph *g, const me_node *n, int op) {
    if (!is_op(n, op, 1) || me_param_int(n, "keep_dims", 0) != 1) return -1;
    const me_param *p = me_node_param(n, "axes");
    if (!p || p->kind != ME_PARAM_TENSOR || !p->ivals || p->count != 1) return -1;
    int64_t a = p->ivals[0];
    return a >= 0 && a < g->tensors[n->in[0]].rank ? (int)a : -1;
}

static me_status try_fuse(me_graph *g, mp_uses *u, int en, const void *arg, me_diag *d) {
    (void)arg;
    const me_node *e = &g->nodes[en];
    if (!is_op(e, ME_OP_EXP, 1)) return ME_OK;
    int t = e->in[0], et = e->out[0];
    int kill[5], nk = 0;
    /* optional t = x - ReduceMax(x) */
    int x = t;
    int sn = mp_producer(g, t), ax_max = -1;
    if (sn >= 0 && mp_only_reader(g, u, t) == en && is_op(&g->nodes[sn], ME_OP_SUBTRACT, 2)) {
        const me_node *sub = &g->nodes[sn];
        int mn = mp_producer(g, sub->in[1]);
        if (mn >= 0 && mp_only_reader(g, u, sub->in[1]) == sn && g->nodes[mn].in[0] == sub->in[0] &&
            (ax_max = reduce_axis(g, &g->nodes[mn], ME_OP_REDUCE_MAX)) >= 0) {
            x = sub->in[0];
            kill[nk++] = mn;
            kill[nk++] = sn;
        }
    }
    kill[nk++] = en;
    /* Exp's output: read by the ReduceSum and the Divide only */
    if (mp_is_output(g, et) || mp_use_count(u, et) != 2) return ME_OK;
    int r0 = u->t[et].v[0].node, r1 = u->t[et].v[1].node;
    if (r0 == r1) return ME_OK;
    int rs = g->nodes[r0].op == ME_OP_REDUCE_SUM ? r0 : r1, dv = rs == r0 ? r1 : r0;
    int axis = reduce_axis(g, &g->nodes[rs], ME_OP_REDUCE_SUM);
    if (axis < 0 || (ax_max >= 0 && ax_max != axis)) return ME_OK;
    int st = g->nodes[rs].out[0];
    const me_node *div = &g->nodes[dv];
    if (!is_op(div, ME_OP_DIVIDE, 2) || div->in[0] != et || div->in[1] != st || mp_only_reader(g, u, st) != dv)
        return ME_OK;
    kill[nk++] = rs;
    kill[nk++] = dv;
    int y = div->out[0];
    if (!mp_plain_f32(g, x) || mp_is_static(g, x)) return ME_OK;
    for (int i = 0; i < nk; i++)
        if (!mp_plain_f32(g, g->nodes[kill[i]].out[0])) return ME_OK;
    const me_tensor *xt = &g->tensors[x], *yt = &g->tensors[y];
    if (xt->rank != yt->rank) return ME_OK;
    for (int i = 0; i < xt->rank; i++)
        if (xt->dims[i] != yt->dims[i]) return ME_OK;
    char name[512];
    snprintf(name, sizeof name, "%.480s_softmax", e->name);
    const char *scope = e->scope;
    for (int i = 0; i < nk; i++) mp_kill(g, u, kill[i]);
    int id = mp_add_node(g, u, name, ME_OP_SOFTMAX, &x, 1, &y, 1, scope, d);
    if (id < 0) return me_fail(d, ME_ERR_NOMEM, "out of memory fusing '%s'", name);
    me_status s = me_node_set_scalar_u32(g, id, "axis", (uint32_t)axis);
    for (int i = 0; s == ME_OK && i < nk; i++) s = mp_absorb_sources(g, id, kill[i]);
    if (s != ME_OK) return me_fail(d, s, "out of memory fusing '%s'", name);
    return ME_OK;
}

me_status me_pass_fuse_softmax(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    return mp_each_node(g, try_fuse, NULL, d);
}
