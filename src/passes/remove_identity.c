/* remove_identity: bypass Reshape to the same shape, Transpose with the
 * identity perm and Cast to the same dtype. When the node writes a graph
 * output, its producer writes that output instead; if the input is a graph
 * input, a constant or read elsewhere, the node stays (the output needs a
 * producer of its own). */
#include "pass_util.h"

static bool is_identity(const me_graph *g, const me_node *n) {
    if (n->n_in < 1 || n->n_out != 1 || n->in[0] < 0) return false;
    if (n->op != ME_OP_RESHAPE && n->op != ME_OP_TRANSPOSE && n->op != ME_OP_CAST) return false;
    if (n->op == ME_OP_RESHAPE && n->n_in != 1) return false;
    const me_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    if (x->dtype != y->dtype || x->rank != y->rank || !mp_qenc_equal(x->qenc, y->qenc)) return false;
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] != y->dims[i]) return false;
    if (n->op == ME_OP_TRANSPOSE) {
        int perm[ME_MAX_RANK];
        return mp_get_perm(n, x->rank, perm) && mp_perm_is_identity(perm, x->rank);
    }
    return true;
}

static me_status try_remove(me_graph *g, mp_uses *u, int id, me_diag *d) {
    const me_node *n = &g->nodes[id];
    if (!is_identity(g, n)) return ME_OK;
    int x = n->in[0], y = n->out[0];
    if (!mp_is_output(g, y)) {
        me_status st = mp_replace_uses(g, u, y, x, d);
        if (st == ME_OK) mp_kill(g, u, id);
        return st;
    }
    int p = mp_producer(g, x);
    if (p < 0 || mp_is_output(g, x) || mp_is_input(g, x) || mp_single_consumer(u, x) != id) return ME_OK;
    mp_kill(g, u, id);
    for (int k = 0; k < g->nodes[p].n_out; k++)
        if (g->nodes[p].out[k] == x) mp_set_output(g, p, k, y);
    return ME_OK;
}

me_status me_pass_remove_identity(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    for (int i = 0; st == ME_OK && i < g->n_nodes; i++)
        if (!g->nodes[i].dead) st = try_remove(g, &u, i, d);
    mp_uses_free(&u);
    return st;
}
