/* Moving a transpose below a Reshape: Reshape(T(p)(a)) = T(p')(Reshape'(a))
 * when the reshape only groups axes (merges some adjacent axes, splits
 * others) and every merged group of axes is adjacent and in the same order
 * in a's layout too, so each group is one contiguous block in both layouts.
 * Unit axes carry no data and are ignored; Reshape' puts the output's unit
 * axes first. Example: the ViT patch embedding NHWC conv -> T(0,3,1,2) ->
 * Reshape [N,C,H*W] becomes Reshape [N,H*W,C] -> T(0,2,1), whose transpose
 * then cancels the model's own Transpose(0,2,1). */
#include <stdio.h>
#include <string.h>

#include "transpose_push.h"

typedef struct group { int b0, b1, y0, y1, key; } group;

bool mp_reshape_plan(const me_graph *g, int reshape_node, const int *perm, int64_t *dims, int *out_perm) {
    const me_node *n = &g->nodes[reshape_node];
    if (n->op != ME_OP_RESHAPE || n->n_in != 1 || n->n_out != 1 || n->in[0] < 0) return false;
    int tn = mp_producer(g, n->in[0]);
    if (tn < 0 || g->nodes[tn].op != ME_OP_TRANSPOSE || g->nodes[tn].in[0] < 0) return false;
    const me_tensor *a = &g->tensors[g->nodes[tn].in[0]], *y = &g->tensors[n->out[0]];
    int r = a->rank;
    int64_t b[ME_MAX_RANK];
    int bnz[ME_MAX_RANK], ynz[ME_MAX_RANK], nb = 0, ny = 0, a_pos[ME_MAX_RANK], na = 0;
    for (int j = 0; j < r; j++) {
        if (a->dims[j] <= 0) return false;
        a_pos[j] = a->dims[j] != 1 ? na++ : -1;
    }
    for (int i = 0; i < r; i++) {
        b[i] = a->dims[perm[i]];
        if (b[i] != 1) bnz[nb++] = i;
    }
    for (int j = 0; j < y->rank; j++) {
        if (y->dims[j] <= 0) return false;
        if (y->dims[j] != 1) ynz[ny++] = j;
    }
    /* pair up minimal groups of equal element count */
    group grp[ME_MAX_RANK];
    int ng = 0, bi = 0, yi = 0;
    while (bi < nb && yi < ny) {
        group *gr = &grp[ng++];
        gr->b0 = bi;
        gr->y0 = yi;
        int64_t pb = b[bnz[bi++]], py = y->dims[ynz[yi++]];
        while (pb != py) {
            if (pb < py) {
                if (bi >= nb) return false;
                pb *= b[bnz[bi++]];
            } else {
                if (yi >= ny) return false;
                py *= y->dims[ynz[yi++]];
            }
        }
        gr->b1 = bi;
        gr->y1 = yi;
    }
    if (bi != nb || yi != ny) return false;
    /* each group must be adjacent and in order in a */
    for (int k = 0; k < ng; k++) {
        for (int t = grp[k].b0 + 1; t < grp[k].b1; t++)
            if (a_pos[perm[bnz[t]]] != a_pos[perm[bnz[t - 1]]] + 1) return false;
        grp[k].key = a_pos[perm[bnz[grp[k].b0]]];
    }
    /* Reshape'(a): the output's unit axes, then the groups in a's order */
    int m = 0;
    for (int j = 0; j < y->rank; j++)
        if (y->dims[j] == 1) { dims[m] = 1; out_perm[j] = m++; }
    for (int key = 0; key < na; key++)
        for (int k = 0; k < ng; k++) {
            if (grp[k].key != key) continue;
            for (int t = grp[k].y0; t < grp[k].y1; t++) {
                dims[m] = y->dims[ynz[t]];
                out_perm[ynz[t]] = m++;
            }
        }
    return m == y->rank;
}

me_status mp_push_through_reshape(me_graph *g, mp_uses *u, int c, bool *done, me_diag *d) {
    *done = false;
    const me_node *n = &g->nodes[c];
    if (n->n_in != 1 || n->n_out != 1 || n->in[0] < 0) return ME_OK;
    int b = n->in[0], perm[ME_MAX_RANK], out_perm[ME_MAX_RANK];
    int64_t dims[ME_MAX_RANK];
    int tp = mp_transpose_producer(g, b, perm);
    if (tp < 0 || !mp_reshape_plan(g, c, perm, dims, out_perm) || !mp_transpose_movable(g, u, b, tp)) return ME_OK;
    int a = g->nodes[tp].in[0], y = n->out[0], rank = g->tensors[y].rank;
    if (!mp_qenc_equal(g->tensors[a].qenc, g->tensors[b].qenc) || !mp_qenc_equal(g->tensors[b].qenc, g->tensors[y].qenc))
        return ME_OK;
    me_status st;
    if (!mp_perm_is_identity(out_perm, rank)) {
        int y2 = mp_add_tensor_like(g, u, y, "_perm", rank, dims, d);
        if (y2 < 0) return ME_ERR_NOMEM;
        mp_set_output(g, c, 0, y2);
        char name[512];
        snprintf(name, sizeof name, "%.480s_out", g->nodes[c].name);
        int tmp;
        int tn = mp_add_transpose(g, u, y2, out_perm, y, name, g->nodes[c].scope, &tmp, d);
        if (tn < 0) return ME_ERR_NOMEM;
        if ((st = mp_absorb_sources(g, tn, tp)) != ME_OK) return me_fail(d, st, "out of memory");
    }
    if ((st = mp_set_input(g, u, c, 0, a, d)) != ME_OK) return st;
    if (mp_use_count(u, b) == 0 && !mp_is_output(g, b)) mp_kill(g, u, tp);
    *done = true;
    return ME_OK;
}
