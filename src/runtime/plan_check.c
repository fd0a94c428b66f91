/* Validation of a memory plan that was not built here (a context binary's
 * stored schedule and offsets): nothing in it is trusted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../ops/ops.h"
#include "plan.h"

typedef struct placed { size_t lo, hi; int t; } placed;

static int by_lo(const void *a, const void *b) {
    const placed *x = a, *y = b;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Schedule: every live node exactly once, each input available before its step. */
static me_status check_order(const me_graph *g, const me_plan *p, int *prod_step, int *last_use, me_diag *d) {
    int nn = g->n_nodes, nt = g->n_tensors, live = 0;
    for (int i = 0; i < nn; i++) live += !g->nodes[i].dead;
    if (p->n_steps != live)
        return me_fail(d, ME_ERR_FORMAT, "the stored schedule has %d steps, the graph has %d nodes", p->n_steps, live);
    char *seen = calloc((size_t)(nn > 0 ? nn : 1), 1);
    if (!seen) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    me_status st = ME_OK;
    for (int t = 0; t < nt; t++) prod_step[t] = last_use[t] = -1;
    for (int s = 0; s < p->n_steps && st == ME_OK; s++) {
        int id = p->order[s];
        if (id < 0 || id >= nn || g->nodes[id].dead || seen[id]) {
            st = me_fail(d, ME_ERR_FORMAT, "the stored schedule's step %d names node %d, which is %s", s, id,
                         id < 0 || id >= nn ? "out of range" : seen[id] ? "scheduled twice" : "not in the graph");
            break;
        }
        seen[id] = 1;
        const me_node *n = &g->nodes[id];
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t < 0) continue;
            if (t >= nt) { st = me_fail(d, ME_ERR_FORMAT, "node '%s': input id out of range", n->name); break; }
            const me_tensor *tt = &g->tensors[t];
            if (!(tt->flags & (ME_TF_STATIC | ME_TF_INPUT)) && prod_step[t] < 0) {
                st = me_fail(d, ME_ERR_FORMAT, "the stored schedule runs node '%s' before '%s' is produced", n->name,
                             tt->name);
                break;
            }
            last_use[t] = s;
        }
        for (int k = 0; k < n->n_out && st == ME_OK; k++) {
            int t = n->out[k];
            if (t < 0 || t >= nt) { st = me_fail(d, ME_ERR_FORMAT, "node '%s': output id out of range", n->name); break; }
            prod_step[t] = s;
        }
    }
    free(seen);
    return st;
}

me_status me_plan_check(const me_graph *g, me_plan *p, me_diag *d) {
    int nt = g->n_tensors;
    size_t cap = (size_t)(nt > 0 ? nt : 1);
    int *prod_step = malloc(cap * sizeof(int)), *last_use = malloc(cap * sizeof(int));
    placed *pl = malloc(cap * sizeof *pl);
    me_status st = ME_OK;
    if (!prod_step || !last_use || !pl) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
    if (p->n_steps < 0 || (p->n_steps && !p->order)) { st = me_fail(d, ME_ERR_FORMAT, "the stored plan is empty"); goto done; }
    st = check_order(g, p, prod_step, last_use, d);
    if (st != ME_OK) goto done;

    int last_step = p->n_steps > 0 ? p->n_steps - 1 : 0, np = 0;
    size_t sum = 0;
    for (int t = 0; t < nt && st == ME_OK; t++) {
        const me_tensor *tt = &g->tensors[t];
        int f = p->first[t], l = p->last[t];
        size_t off = p->offset[t];
        if (tt->flags & ME_TF_STATIC) {
            if (f != -1 || l != -1 || off != ME_PLAN_NONE)
                st = me_fail(d, ME_ERR_FORMAT, "the stored plan places constant '%s' in the activation buffer", tt->name);
            continue;
        }
        if (f < 0 || l < f || l > last_step) {
            st = me_fail(d, ME_ERR_FORMAT, "tensor '%s': stored lifetime [%d, %d] is invalid (%d steps)", tt->name, f, l,
                         p->n_steps);
            break;
        }
        if ((tt->flags & (ME_TF_INPUT | ME_TF_OUTPUT)) && (f != 0 || l != last_step)) {
            st = me_fail(d, ME_ERR_FORMAT, "graph input/output '%s' must live for the whole run", tt->name);
            break;
        }
        if ((prod_step[t] >= 0 && f > prod_step[t]) || last_use[t] > l) {
            st = me_fail(d, ME_ERR_FORMAT, "tensor '%s': stored lifetime [%d, %d] does not cover its use (steps %d..%d)",
                         tt->name, f, l, prod_step[t], last_use[t]);
            break;
        }
        size_t bytes = me_tensor_nbytes(tt), aligned = me_align_up(bytes, ME_PLAN_ALIGN), end;
        if (bytes == 0 && me_tensor_numel(tt) != 0) {
            st = me_fail(d, ME_ERR_FORMAT, "tensor '%s' has an invalid size", tt->name);
            break;
        }
        if (off == ME_PLAN_NONE || off % ME_PLAN_ALIGN || !me_add_size(off, aligned, &end) || end > p->arena_bytes) {
            st = me_fail(d, ME_ERR_FORMAT, "tensor '%s': stored offset %zu (+%zu bytes) is not inside the %zu-byte buffer",
                         tt->name, off, aligned, p->arena_bytes);
            break;
        }
        if (!me_add_size(sum, aligned, &sum)) { st = me_fail(d, ME_ERR_FORMAT, "activation memory size overflows"); break; }
        if (aligned) pl[np++] = (placed){off, end, t};
    }
    if (st != ME_OK) goto done;
    if (p->arena_bytes > sum)
        st = me_fail(d, ME_ERR_FORMAT, "the stored buffer size %zu exceeds the %zu bytes its tensors need without reuse",
                     p->arena_bytes, sum);
    /* No two tensors alive at the same step may share a byte. */
    qsort(pl, (size_t)np, sizeof *pl, by_lo);
    for (int i = 0; i < np && st == ME_OK; i++)
        for (int j = i + 1; j < np && pl[j].lo < pl[i].hi; j++) {
            int a = pl[i].t, b = pl[j].t;
            if (p->first[a] <= p->last[b] && p->first[b] <= p->last[a]) {
                st = me_fail(d, ME_ERR_FORMAT, "the stored plan overlaps '%s' and '%s', which are alive at the same time",
                             g->tensors[a].name, g->tensors[b].name);
                break;
            }
        }
    for (int s = 0; s < p->n_steps && st == ME_OK; s++) {
        const me_node *n = &g->nodes[p->order[s]];
        const me_opdef *def = me_opdefs[n->op];
        size_t want = def->scratch_bytes ? def->scratch_bytes(g, n) : 0;
        if (want > p->scratch_bytes)
            st = me_fail(d, ME_ERR_FORMAT, "node '%s' needs %zu scratch bytes, the stored plan has %zu", n->name, want,
                         p->scratch_bytes);
    }
    if (st == ME_OK && (p->scratch_bytes % ME_PLAN_ALIGN || p->scratch_bytes > (size_t)ME_MAX_TENSOR_BYTES))
        st = me_fail(d, ME_ERR_FORMAT, "the stored scratch size %zu is invalid", p->scratch_bytes);
    if (st == ME_OK) p->sum_bytes = sum;
done:
    free(prod_step);
    free(last_use);
    free(pl);
    return st;
}

me_status me_plan_copy(const me_plan *p, int n_tensors, me_plan *out, me_diag *d) {
    memset(out, 0, sizeof *out);
    size_t ns = (size_t)(p->n_steps > 0 ? p->n_steps : 1), nt = (size_t)(n_tensors > 0 ? n_tensors : 1);
    out->order = malloc(ns * sizeof(int));
    out->first = malloc(nt * sizeof(int));
    out->last = malloc(nt * sizeof(int));
    out->offset = malloc(nt * sizeof(size_t));
    if (!out->order || !out->first || !out->last || !out->offset) {
        me_plan_free(out);
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    if (p->n_steps > 0) memcpy(out->order, p->order, (size_t)p->n_steps * sizeof(int));
    if (n_tensors > 0) {
        memcpy(out->first, p->first, (size_t)n_tensors * sizeof(int));
        memcpy(out->last, p->last, (size_t)n_tensors * sizeof(int));
        memcpy(out->offset, p->offset, (size_t)n_tensors * sizeof(size_t));
    }
    out->n_steps = p->n_steps;
    out->arena_bytes = p->arena_bytes;
    out->sum_bytes = p->sum_bytes;
    out->scratch_bytes = p->scratch_bytes;
    return ME_OK;
}
