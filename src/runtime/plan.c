/* Lifetime analysis and greedy offset planning for the activation buffer. */
#include "plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../ops/ops.h"

typedef struct block_ref { size_t size; int first, id; } block_ref;
typedef struct span { size_t lo, hi; } span;

static int by_size_desc(const void *a, const void *b) {
    const block_ref *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_lo(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

me_status me_plan_offsets(int n, const size_t *size, const int *first, const int *last,
                          size_t *offset, size_t *total, me_diag *d) {
    *total = 0;
    block_ref *refs = malloc((size_t)(n > 0 ? n : 1) * sizeof *refs);
    int *placed = malloc((size_t)(n > 0 ? n : 1) * sizeof *placed);
    span *busy = malloc((size_t)(n > 0 ? n : 1) * sizeof *busy);
    if (!refs || !placed || !busy) {
        free(refs); free(placed); free(busy);
        return me_fail(d, ME_ERR_NOMEM, "out of memory while planning memory");
    }
    int nr = 0;
    for (int i = 0; i < n; i++) {
        offset[i] = ME_PLAN_NONE;
        if (first[i] < 0) continue;
        if (size[i] == 0) { offset[i] = 0; continue; } /* occupies nothing */
        refs[nr].size = me_align_up(size[i], ME_PLAN_ALIGN);
        refs[nr].first = first[i];
        refs[nr].id = i;
        nr++;
    }
    qsort(refs, (size_t)nr, sizeof *refs, by_size_desc);
    int n_placed = 0;
    size_t end_max = 0;
    me_status st = ME_OK;
    for (int r = 0; r < nr; r++) {
        int id = refs[r].id;
        int nb = 0;
        for (int k = 0; k < n_placed; k++) {
            int o = placed[k];
            if (first[o] <= last[id] && first[id] <= last[o]) {
                busy[nb].lo = offset[o];
                busy[nb].hi = offset[o] + me_align_up(size[o], ME_PLAN_ALIGN);
                nb++;
            }
        }
        qsort(busy, (size_t)nb, sizeof *busy, by_lo);
        size_t at = 0;
        for (int k = 0; k < nb; k++) {
            if (busy[k].lo >= at && busy[k].lo - at >= refs[r].size) break; /* fits in the gap */
            if (busy[k].hi > at) at = busy[k].hi;
        }
        size_t end;
        if (!me_add_size(at, refs[r].size, &end)) { st = me_fail(d, ME_ERR_NOMEM, "activation memory size overflows"); break; }
        offset[id] = at;
        if (end > end_max) end_max = end;
        placed[n_placed++] = id;
    }
    *total = end_max;
    free(refs); free(placed); free(busy);
    return st;
}

void me_plan_free(me_plan *p) {
    if (!p) return;
    free(p->order); free(p->first); free(p->last); free(p->offset);
    memset(p, 0, sizeof *p);
}

me_status me_plan_build(const me_graph *g, me_plan *p, me_diag *d) {
    memset(p, 0, sizeof *p);
    int nt = g->n_tensors, nn = g->n_nodes;
    size_t tcap = (size_t)(nt > 0 ? nt : 1), ncap = (size_t)(nn > 0 ? nn : 1);
    p->order = malloc(ncap * sizeof(int));
    p->first = malloc(tcap * sizeof(int));
    p->last = malloc(tcap * sizeof(int));
    p->offset = malloc(tcap * sizeof(size_t));
    size_t *sizes = malloc(tcap * sizeof(size_t));
    int *step_of = malloc(ncap * sizeof(int));
    me_status st = ME_OK;
    if (!p->order || !p->first || !p->last || !p->offset || !sizes || !step_of) {
        st = me_fail(d, ME_ERR_NOMEM, "out of memory while planning memory");
        goto done;
    }
    st = me_graph_toposort(g, p->order, &p->n_steps, d);
    if (st != ME_OK) goto done;
    int last_step = p->n_steps > 0 ? p->n_steps - 1 : 0;
    for (int i = 0; i < nn; i++) step_of[i] = -1;
    for (int s = 0; s < p->n_steps; s++) step_of[p->order[s]] = s;

    for (int t = 0; t < nt; t++) {
        const me_tensor *tt = &g->tensors[t];
        p->first[t] = p->last[t] = -1;
        sizes[t] = 0;
        if (tt->flags & ME_TF_STATIC) continue;
        sizes[t] = me_tensor_nbytes(tt);
        if (sizes[t] == 0 && me_tensor_numel(tt) != 0) {
            st = me_fail(d, ME_ERR_FORMAT, "tensor '%s' has an invalid size", tt->name);
            goto done;
        }
        int prod = tt->producer >= 0 && tt->producer < nn ? step_of[tt->producer] : -1;
        if ((tt->flags & (ME_TF_INPUT | ME_TF_OUTPUT)) || prod < 0) {
            p->first[t] = 0; /* kept for the whole run */
            p->last[t] = last_step;
        } else {
            p->first[t] = p->last[t] = prod;
        }
    }
    for (int s = 0; s < p->n_steps; s++) {
        const me_node *n = &g->nodes[p->order[s]];
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t >= 0 && t < nt && p->first[t] >= 0 && p->last[t] < s) p->last[t] = s;
        }
    }
    size_t sum = 0;
    for (int t = 0; t < nt; t++)
        if (p->first[t] >= 0 && !me_add_size(sum, me_align_up(sizes[t], ME_PLAN_ALIGN), &sum)) {
            st = me_fail(d, ME_ERR_NOMEM, "activation memory size overflows");
            goto done;
        }
    p->sum_bytes = sum;
    st = me_plan_offsets(nt, sizes, p->first, p->last, p->offset, &p->arena_bytes, d);
    if (st != ME_OK) goto done;

    for (int s = 0; s < p->n_steps; s++) {
        const me_node *n = &g->nodes[p->order[s]];
        const me_opdef *def = me_opdefs[n->op];
        if (!def->scratch_bytes) continue;
        size_t b = def->scratch_bytes(g, n);
        if (b > (size_t)ME_MAX_TENSOR_BYTES) {
            st = me_fail(d, ME_ERR_NOMEM, "node '%s' asks for %zu scratch bytes", n->name, b);
            goto done;
        }
        b = me_align_up(b, ME_PLAN_ALIGN);
        if (b > p->scratch_bytes) p->scratch_bytes = b;
    }
done:
    free(sizes);
    free(step_of);
    if (st != ME_OK) me_plan_free(p);
    return st;
}
