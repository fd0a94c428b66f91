/* dead_code: remove nodes none of whose outputs is read by a live node or is
 * a graph output, to a fixpoint (a worklist: killing a node may leave its
 * producers unused). Unused static tensors go at the final compaction. */
#include <stdlib.h>

#include "pass_util.h"

static bool unused(const me_graph *g, const mp_uses *u, const me_node *n) {
    for (int k = 0; k < n->n_out; k++)
        if (mp_is_output(g, n->out[k]) || mp_use_count(u, n->out[k]) > 0) return false;
    return true;
}

me_status me_pass_dead_code(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    if (st != ME_OK) return st;
    int *work = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int));
    if (!work) { mp_uses_free(&u); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
    int nw = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && unused(g, &u, &g->nodes[i])) { work[nw++] = i; g->nodes[i].dead = true; }
    /* Nodes on the worklist are already marked; mp_kill needs them live. */
    while (nw > 0) {
        int v = work[--nw];
        g->nodes[v].dead = false;
        mp_kill(g, &u, v);
        const me_node *n = &g->nodes[v];
        for (int k = 0; k < n->n_in; k++) {
            int p = mp_producer(g, n->in[k]);
            if (p >= 0 && unused(g, &u, &g->nodes[p])) { g->nodes[p].dead = true; work[nw++] = p; }
        }
    }
    free(work);
    mp_uses_free(&u);
    return ME_OK;
}
