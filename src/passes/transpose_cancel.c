/* transpose_cancel: make the graph channel-last end to end. The frontend
 * wraps every layout-sensitive op as T(to NHWC) -> op -> T(to NCHW); this
 * pass moves transposes down through layout-agnostic ops (transpose_push.c)
 * until they meet, merges consecutive transposes (cancelling inverse pairs),
 * absorbs a last-two-axes swap into MatMul's transpose_in flags, drops a
 * transpose that only relabels unit axes before a Reshape, moves one below a
 * Reshape that only groups axes (transpose_reshape.c), and merges equal
 * transposes of one tensor. What is left sits at the graph boundaries. */
#include <stdlib.h>
#include <string.h>

#include "transpose_push.h"

#define MAX_SWEEPS 1000

static void kill_if_unused(me_graph *g, mp_uses *u, int node) {
    if (node < 0 || g->nodes[node].dead) return;
    const me_node *n = &g->nodes[node];
    for (int k = 0; k < n->n_out; k++)
        if (mp_use_count(u, n->out[k]) > 0 || mp_is_output(g, n->out[k])) return;
    mp_kill(g, u, node);
}

static me_status set_perm(me_graph *g, int node, const int *perm, int rank) {
    int64_t v[ME_MAX_RANK], dims[1] = {rank};
    for (int i = 0; i < rank; i++) v[i] = perm[i];
    const me_param *p = me_node_param(&g->nodes[node], "perm");
    return me_node_set_tensor_int(g, node, "perm", p ? p->dtype : ME_DT_U32, 1, dims, v);
}

/* T(q)(T(p)(a)) = T(p∘q)(a); identity: the second one goes. */
static me_status merge_transposes(me_graph *g, mp_uses *u, int c, bool *changed, me_diag *d) {
    const me_node *n = &g->nodes[c];
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1) return ME_OK;
    int b = n->in[0], p[ME_MAX_RANK], q[ME_MAX_RANK], r[ME_MAX_RANK];
    int tp = mp_transpose_producer(g, b, p);
    int rank = g->tensors[b].rank;
    if (tp < 0 || !mp_get_perm(n, rank, q)) return ME_OK;
    int a = g->nodes[tp].in[0];
    mp_perm_compose(p, q, rank, r);
    int y = n->out[0];
    me_status st;
    if (mp_perm_is_identity(r, rank) && !mp_is_output(g, y) && mp_qenc_equal(g->tensors[a].qenc, g->tensors[y].qenc)) {
        if ((st = mp_replace_uses(g, u, y, a, d)) != ME_OK) return st;
        mp_kill(g, u, c);
    } else {
        if ((st = set_perm(g, c, r, rank)) != ME_OK) return me_fail(d, st, "out of memory");
        if ((st = mp_set_input(g, u, c, 0, a, d)) != ME_OK) return st;
    }
    kill_if_unused(g, u, tp);
    *changed = true;
    return ME_OK;
}

/* Reshape(T(p)(a)) = Reshape(a) when T only moves unit axes. */
static me_status relabel_into_reshape(me_graph *g, mp_uses *u, int c, bool *changed, me_diag *d) {
    const me_node *n = &g->nodes[c];
    if (n->n_in != 1 || n->in[0] < 0) return ME_OK;
    int b = n->in[0], p[ME_MAX_RANK];
    int tp = mp_transpose_producer(g, b, p);
    if (tp < 0) return ME_OK;
    int a = g->nodes[tp].in[0];
    const me_tensor *at = &g->tensors[a];
    if (!mp_perm_is_relabel(p, at->rank, at->dims) || !mp_qenc_equal(at->qenc, g->tensors[b].qenc)) return ME_OK;
    me_status st = mp_set_input(g, u, c, 0, a, d);
    if (st != ME_OK) return st;
    kill_if_unused(g, u, tp);
    *changed = true;
    return ME_OK;
}

/* MatMul(T(swap last two)(a), ...) = MatMul(a, ...) with transpose_in0 toggled. */
static me_status absorb_into_matmul(me_graph *g, mp_uses *u, int c, bool *changed, me_diag *d) {
    static const char *const flag[2] = {"transpose_in0", "transpose_in1"};
    for (int s = 0; s < 2 && s < g->nodes[c].n_in; s++) {
        int b = g->nodes[c].in[s], p[ME_MAX_RANK];
        if (b < 0 || !mp_schema_has(ME_OP_MATMUL, flag[s])) continue;
        int tp = mp_transpose_producer(g, b, p);
        if (tp < 0 || !mp_perm_is_last_two_swap(p, g->tensors[b].rank)) continue;
        int a = g->nodes[tp].in[0];
        if (!mp_qenc_equal(g->tensors[a].qenc, g->tensors[b].qenc)) continue;
        bool cur = me_param_int(&g->nodes[c], flag[s], 0) != 0;
        me_status st = me_node_set_scalar_bool(g, c, flag[s], !cur);
        if (st != ME_OK) return me_fail(d, st, "out of memory");
        if ((st = mp_set_input(g, u, c, s, a, d)) != ME_OK) return st;
        kill_if_unused(g, u, tp);
        *changed = true;
    }
    return ME_OK;
}

/* Several equal transposes of one tensor become one. */
static me_status merge_equal_transposes(me_graph *g, mp_uses *u, int c, bool *changed, me_diag *d) {
    const me_node *n = &g->nodes[c];
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1) return ME_OK;
    int a = n->in[0], rank = g->tensors[a].rank, p[ME_MAX_RANK], q[ME_MAX_RANK];
    if (!mp_get_perm(n, rank, p)) return ME_OK;
    for (int i = 0; i < mp_use_count(u, a); i++) {
        int o = u->t[a].v[i].node;
        if (o == c || g->nodes[o].op != ME_OP_TRANSPOSE || g->nodes[o].n_out != 1) continue;
        int yo = g->nodes[o].out[0], yc = g->nodes[c].out[0];
        if (mp_is_output(g, yo) || !mp_get_perm(&g->nodes[o], rank, q) || memcmp(p, q, (size_t)rank * sizeof(int)) ||
            !mp_qenc_equal(g->tensors[yo].qenc, g->tensors[yc].qenc))
            continue;
        me_status st = mp_replace_uses(g, u, yo, yc, d);
        if (st != ME_OK) return st;
        mp_kill(g, u, o);
        *changed = true;
        i = -1; /* the use list changed */
    }
    return ME_OK;
}

static me_status sweep(me_graph *g, mp_uses *u, int *order, bool *changed, me_diag *d) {
    int n_order = 0;
    me_status st = me_graph_toposort(g, order, &n_order, d);
    for (int i = 0; st == ME_OK && i < n_order; i++) {
        int c = order[i];
        if (g->nodes[c].dead) continue;
        bool done = false;
        switch (g->nodes[c].op) {
        case ME_OP_TRANSPOSE:
            st = merge_equal_transposes(g, u, c, changed, d);
            if (st == ME_OK && !g->nodes[c].dead) st = merge_transposes(g, u, c, changed, d);
            break;
        case ME_OP_RESHAPE:
            st = relabel_into_reshape(g, u, c, changed, d);
            if (st == ME_OK) st = mp_push_through_reshape(g, u, c, &done, d);
            *changed |= done;
            break;
        case ME_OP_MATMUL: st = absorb_into_matmul(g, u, c, changed, d); break;
        default:
            st = mp_push_transpose(g, u, c, &done, d);
            *changed |= done;
            break;
        }
    }
    return st;
}

/* Leftover transposes that only move unit axes are reshapes; consecutive
 * reshapes collapse into one. */
static me_status finish(me_graph *g, mp_uses *u, me_diag *d) {
    for (int c = 0; c < g->n_nodes; c++) {
        me_node *n = &g->nodes[c];
        if (n->dead || n->op != ME_OP_TRANSPOSE || n->n_in != 1 || n->n_out != 1 || n->in[0] < 0) continue;
        const me_tensor *a = &g->tensors[n->in[0]];
        int p[ME_MAX_RANK];
        if (!mp_get_perm(n, a->rank, p) || !mp_perm_is_relabel(p, a->rank, a->dims)) continue;
        if (!mp_qenc_equal(a->qenc, g->tensors[n->out[0]].qenc)) continue;
        n->op = ME_OP_RESHAPE;
        n->n_params = 0;
        n->params = NULL;
    }
    for (int c = 0; c < g->n_nodes; c++) {
        const me_node *n = &g->nodes[c];
        if (n->dead || n->op != ME_OP_RESHAPE || n->n_in != 1 || n->in[0] < 0) continue;
        int rp = mp_producer(g, n->in[0]);
        if (rp < 0 || g->nodes[rp].op != ME_OP_RESHAPE || g->nodes[rp].n_in != 1 || g->nodes[rp].in[0] < 0) continue;
        int a = g->nodes[rp].in[0];
        if (!mp_qenc_equal(g->tensors[a].qenc, g->tensors[n->in[0]].qenc)) continue;
        me_status st = mp_set_input(g, u, c, 0, a, d);
        if (st != ME_OK) return st;
        kill_if_unused(g, u, rp);
    }
    return ME_OK;
}

me_status me_pass_transpose_cancel(me_graph *g, const me_pass_options *o, me_diag *d) {
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    if (st != ME_OK) return st;
    bool changed = true;
    for (int s = 0; st == ME_OK && changed && s < MAX_SWEEPS; s++) {
        /* a sweep adds at most one node per output of each node */
        int *order = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int));
        if (!order) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); break; }
        changed = false;
        st = sweep(g, &u, order, &changed, d);
        free(order);
    }
    if (st == ME_OK) st = finish(g, &u, d);
    mp_uses_free(&u);
    if (st == ME_OK) st = me_pass_dead_code(g, o, d);
    return st;
}
