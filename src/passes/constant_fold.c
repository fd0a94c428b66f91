/* constant_fold: evaluate every live node whose inputs are all static with
 * its reference kernel; its outputs become static tensors in the arena.
 * Nodes producing graph outputs stay (an output keeps its producer), and so
 * do nodes whose kernel is missing or refuses (UNSUPPORTED, NOMEM) and nodes
 * whose outputs exceed the size cap. A data error (ME_ERR_FORMAT) from a
 * kernel fails the pass: the model would fail the same way at run time. */
#include <stdlib.h>

#include "../core/util.h"
#include "../quant/quant_kernels.h"
#include "pass_util.h"

#define FOLD_MAX_BYTES ((size_t)64 << 20)

static bool foldable(const me_graph *g, const me_node *n) {
    if (n->dead || n->n_out == 0) return false;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && !mp_is_static(g, n->in[k])) return false;
    size_t total = 0;
    for (int k = 0; k < n->n_out; k++) {
        const me_tensor *t = &g->tensors[n->out[k]];
        if (t->flags & (ME_TF_OUTPUT | ME_TF_INPUT | ME_TF_STATIC)) return false;
        if (t->dtype == ME_DT_I4 || t->dtype == ME_DT_U4) return false;
        int64_t numel = me_tensor_numel(t);
        size_t nb = me_tensor_nbytes(t);
        if (numel < 0 || (nb == 0 && numel > 0)) return false;
        if (!me_add_size(total, nb, &total) || total > FOLD_MAX_BYTES) return false;
    }
    return true;
}

/* Returns ME_OK when folded, ME_ERR_UNSUPPORTED when the node stays, another
 * status on a real error. */
static me_status fold_node(me_graph *g, int id, me_diag *d) {
    me_node *n = &g->nodes[id];
    const me_opdef *def = me_opdefs[n->op];
    if (!def->run) return ME_ERR_UNSUPPORTED;
    int n_in = n->n_in, n_out = n->n_out;
    const me_tensor **in = calloc((size_t)(n_in ? n_in : 1), sizeof *in);
    const me_tensor **out = calloc((size_t)n_out, sizeof *out);
    const void **in_data = calloc((size_t)(n_in ? n_in : 1), sizeof *in_data);
    void **out_data = calloc((size_t)n_out, sizeof *out_data);
    void *scratch = NULL;
    me_status st = ME_OK;
    if (!in || !out || !in_data || !out_data) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
    for (int k = 0; k < n_in; k++) {
        if (n->in[k] < 0) continue;
        in[k] = &g->tensors[n->in[k]];
        in_data[k] = in[k]->data;
    }
    for (int k = 0; k < n_out; k++) {
        out[k] = &g->tensors[n->out[k]];
        out_data[k] = me_arena_alloc(&g->arena, me_tensor_nbytes(out[k]));
        if (!out_data[k]) { st = me_fail(d, ME_ERR_NOMEM, "out of memory folding node '%s'", n->name); goto done; }
    }
    size_t sb = def->scratch_bytes ? def->scratch_bytes(g, n) : 0;
    if (sb) {
        size_t rounded = me_align_up(sb, 64);
        if (rounded < sb || rounded > FOLD_MAX_BYTES * 4 || !(scratch = aligned_alloc(64, rounded))) {
            st = ME_ERR_UNSUPPORTED; /* too big to fold: leave it to the runtime */
            goto done;
        }
    }
    me_kernel_ctx k = {n, in, out, in_data, out_data, n_in, n_out, scratch};
    me_diag sub;
    me_diag_init(&sub);
    st = me_node_run(&k, &sub);
    if (st == ME_ERR_FORMAT)
        me_diag_add(d, "constant folding node '%s' (%s): %s", n->name, def->name, me_diag_text(&sub));
    else if (st != ME_OK)
        st = ME_ERR_UNSUPPORTED;
    me_diag_free(&sub);
    if (st != ME_OK) goto done;
    /* The bytes stay in the arena (a refused fold leaves them unused). */
    for (int k2 = 0; k2 < n_out; k2++) {
        me_tensor *t = &g->tensors[n->out[k2]];
        t->flags |= ME_TF_STATIC;
        t->data = out_data[k2];
        t->nbytes = me_tensor_nbytes(t);
        t->producer = -1;
    }
    n->dead = true;
done:
    free(in); free(out); free(in_data); free(out_data); free(scratch);
    return st;
}

me_status me_pass_constant_fold(me_graph *g, const me_pass_options *o, me_diag *d) {
    (void)o;
    int *order = malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int));
    if (!order) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    int n_order = 0;
    me_status st = me_graph_toposort(g, order, &n_order, d);
    for (int i = 0; st == ME_OK && i < n_order; i++) {
        if (!foldable(g, &g->nodes[order[i]])) continue;
        me_status fs = fold_node(g, order[i], d);
        if (fs != ME_OK && fs != ME_ERR_UNSUPPORTED) st = fs;
    }
    free(order);
    return st;
}
