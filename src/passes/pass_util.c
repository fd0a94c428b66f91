/* Use map and graph edits shared by the passes. */
#include "pass_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"

static me_status list_push(mp_use_list *l, int node, int slot) {
    if (l->n >= l->cap) {
        int nc = l->cap ? l->cap * 2 : 4;
        mp_use *nv = realloc(l->v, (size_t)nc * sizeof *nv);
        if (!nv) return ME_ERR_NOMEM;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = (mp_use){node, slot};
    return ME_OK;
}

static void list_remove(mp_use_list *l, int node, int slot) {
    for (int i = 0; i < l->n; i++)
        if (l->v[i].node == node && l->v[i].slot == slot) {
            l->v[i] = l->v[--l->n];
            return;
        }
}

me_status mp_uses_sync(const me_graph *g, mp_uses *u, me_diag *d) {
    if (g->n_tensors <= u->n_tensors) return ME_OK;
    mp_use_list *nt = realloc(u->t, (size_t)g->n_tensors * sizeof *nt);
    if (!nt) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    memset(nt + u->n_tensors, 0, (size_t)(g->n_tensors - u->n_tensors) * sizeof *nt);
    u->t = nt;
    u->n_tensors = g->n_tensors;
    return ME_OK;
}

me_status mp_uses_build(const me_graph *g, mp_uses *u, me_diag *d) {
    memset(u, 0, sizeof *u);
    me_status st = mp_uses_sync(g, u, d);
    if (st != ME_OK) return st;
    for (int i = 0; i < g->n_nodes; i++) {
        const me_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t < 0 || t >= g->n_tensors) continue;
            if (list_push(&u->t[t], i, k) != ME_OK) {
                mp_uses_free(u);
                return me_fail(d, ME_ERR_NOMEM, "out of memory");
            }
        }
    }
    return ME_OK;
}

void mp_uses_free(mp_uses *u) {
    if (!u->t) return;
    for (int i = 0; i < u->n_tensors; i++) free(u->t[i].v);
    free(u->t);
    memset(u, 0, sizeof *u);
}

int mp_use_count(const mp_uses *u, int t) { return t >= 0 && t < u->n_tensors ? u->t[t].n : 0; }

int mp_single_consumer(const mp_uses *u, int t) {
    return mp_use_count(u, t) == 1 ? u->t[t].v[0].node : -1;
}

int mp_producer(const me_graph *g, int t) {
    if (t < 0 || t >= g->n_tensors) return -1;
    int p = g->tensors[t].producer;
    return p >= 0 && p < g->n_nodes && !g->nodes[p].dead ? p : -1;
}

me_status mp_set_input(me_graph *g, mp_uses *u, int node, int slot, int t, me_diag *d) {
    me_node *n = &g->nodes[node];
    int old = n->in[slot];
    if (old == t) return ME_OK;
    if (t >= 0) {
        me_status st = mp_uses_sync(g, u, d);
        if (st != ME_OK) return st;
        if (list_push(&u->t[t], node, slot) != ME_OK) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    if (old >= 0 && old < u->n_tensors) list_remove(&u->t[old], node, slot);
    n->in[slot] = t;
    return ME_OK;
}

me_status mp_each_node(me_graph *g, mp_node_rule rule, const void *arg, me_diag *d) {
    mp_uses u;
    me_status st = mp_uses_build(g, &u, d);
    int nn = g->n_nodes;
    for (int i = 0; st == ME_OK && i < nn; i++)
        if (!g->nodes[i].dead) st = rule(g, &u, i, arg, d);
    mp_uses_free(&u);
    return st;
}

me_status mp_replace_uses(me_graph *g, mp_uses *u, int from, int to, me_diag *d) {
    if (from == to) return ME_OK;
    /* `to` now stands for `from`'s values: keep the source-model name findable */
    if (from >= 0 && to >= 0 && !g->tensors[to].src_name) g->tensors[to].src_name = g->tensors[from].src_name;
    while (mp_use_count(u, from) > 0) {
        mp_use use = u->t[from].v[0];
        me_status st = mp_set_input(g, u, use.node, use.slot, to, d);
        if (st != ME_OK) return st;
    }
    return ME_OK;
}

void mp_set_output(me_graph *g, int node, int k, int t) {
    me_node *n = &g->nodes[node];
    int old = n->out[k];
    if (old >= 0 && g->tensors[old].producer == node) g->tensors[old].producer = -1;
    n->out[k] = t;
    g->tensors[t].producer = node;
}

void mp_kill(me_graph *g, mp_uses *u, int node) {
    me_node *n = &g->nodes[node];
    if (n->dead) return;
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t >= 0 && t < u->n_tensors) list_remove(&u->t[t], node, k);
    }
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        if (t >= 0 && g->tensors[t].producer == node) g->tensors[t].producer = -1;
    }
    n->dead = true;
}

int mp_add_node(me_graph *g, mp_uses *u, const char *name, int op, const int *in, int n_in,
                const int *out, int n_out, const char *scope, me_diag *d) {
    int id = me_graph_add_node(g, name, op, in, n_in, out, n_out, scope, d);
    if (id < 0) return -1;
    if (mp_uses_sync(g, u, d) != ME_OK) return -1;
    for (int k = 0; k < n_in; k++)
        if (in[k] >= 0 && list_push(&u->t[in[k]], id, k) != ME_OK) {
            me_diag_add(d, "out of memory");
            return -1;
        }
    return id;
}

int mp_add_tensor_like(me_graph *g, mp_uses *u, int like, const char *suffix, int rank,
                       const int64_t *dims, me_diag *d) {
    char buf[512];
    snprintf(buf, sizeof buf, "%.400s%s", g->tensors[like].name, suffix);
    int t = me_graph_add_tensor_unique(g, buf, g->tensors[like].dtype, rank, dims, d);
    if (t < 0) return -1;
    g->tensors[t].qenc = g->tensors[like].qenc;
    g->tensors[t].src_name = g->tensors[like].src_name; /* its values in another layout (the only use) */
    if (mp_uses_sync(g, u, d) != ME_OK) return -1;
    return t;
}

int mp_add_static(me_graph *g, mp_uses *u, const char *base, me_dtype dt, int rank,
                  const int64_t *dims, const void *data, size_t nbytes, me_diag *d) {
    int t = me_graph_add_tensor_unique(g, base, dt, rank, dims, d);
    if (t < 0) return -1;
    me_tensor *tt = &g->tensors[t];
    if (me_tensor_nbytes(tt) != nbytes) {
        me_diag_add(d, "static tensor '%s': %zu bytes do not match its shape", tt->name, nbytes);
        return -1;
    }
    tt->flags |= ME_TF_STATIC;
    tt->data = data;
    tt->nbytes = nbytes;
    if (mp_uses_sync(g, u, d) != ME_OK) return -1;
    return t;
}

me_status mp_absorb_sources(me_graph *g, int dst, int src) {
    const me_node *s = &g->nodes[src];
    if (s->n_sources == 0) return me_node_add_source(g, dst, s->name);
    for (int i = 0; i < g->nodes[src].n_sources; i++) {
        me_status st = me_node_add_source(g, dst, g->nodes[src].sources[i]);
        if (st != ME_OK) return st;
    }
    return ME_OK;
}

bool mp_qenc_equal(const me_qenc *a, const me_qenc *b) {
    if (a == b) return true;
    if (!a || !b) return (!a || a->kind == ME_QENC_NONE) && (!b || b->kind == ME_QENC_NONE);
    if (a->kind != b->kind || a->bitwidth != b->bitwidth || a->is_signed != b->is_signed || a->axis != b->axis ||
        a->n != b->n || a->block_size != b->block_size || a->block_type != b->block_type)
        return false;
    for (int64_t i = 0; i < a->n; i++)
        if (a->scales[i] != b->scales[i] || a->offsets[i] != b->offsets[i]) return false;
    return true;
}

bool mp_schema_has(int op, const char *name) {
    const me_param_schema *s = me_opdefs[op]->params;
    for (; s && s->name; s++)
        if (strcmp(s->name, name) == 0) return true;
    return false;
}

/* ---- permutations ---- */

bool mp_perm_valid(const int *p, int rank) {
    if (rank < 0 || rank > ME_MAX_RANK) return false;
    bool seen[ME_MAX_RANK] = {0};
    for (int i = 0; i < rank; i++) {
        if (p[i] < 0 || p[i] >= rank || seen[p[i]]) return false;
        seen[p[i]] = true;
    }
    return true;
}

bool mp_get_perm(const me_node *n, int rank, int *perm) {
    const me_param *p = me_node_param(n, "perm");
    if (!p || p->kind != ME_PARAM_TENSOR || !p->ivals || p->count != rank) return false;
    for (int i = 0; i < rank; i++) {
        if (p->ivals[i] < 0 || p->ivals[i] >= rank) return false;
        perm[i] = (int)p->ivals[i];
    }
    return mp_perm_valid(perm, rank);
}

bool mp_perm_is_identity(const int *p, int rank) {
    for (int i = 0; i < rank; i++)
        if (p[i] != i) return false;
    return true;
}

void mp_perm_inverse(const int *p, int rank, int *inv) {
    for (int i = 0; i < rank; i++) inv[p[i]] = i;
}

void mp_perm_compose(const int *p, const int *q, int rank, int *r) {
    for (int i = 0; i < rank; i++) r[i] = p[q[i]];
}

bool mp_perm_is_relabel(const int *p, int rank, const int64_t *dims) {
    int last = -1;
    for (int i = 0; i < rank; i++) {
        if (dims[p[i]] == 1) continue;
        if (p[i] < last) return false;
        last = p[i];
    }
    return true;
}

void mp_permute_data(const void *src, void *dst, size_t elem, int rank, const int64_t *in_dims,
                     const int *perm) {
    /* Walk the output in row-major order; keep the matching input offset. */
    int64_t out_dims[ME_MAX_RANK], in_stride[ME_MAX_RANK], step[ME_MAX_RANK], idx[ME_MAX_RANK] = {0};
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) { in_stride[i] = s; s *= in_dims[i]; }
    int64_t total = s;
    for (int i = 0; i < rank; i++) { out_dims[i] = in_dims[perm[i]]; step[i] = in_stride[perm[i]]; }
    const unsigned char *ps = src;
    unsigned char *pd = dst;
    int64_t off = 0;
    for (int64_t o = 0; o < total; o++) {
        memcpy(pd + (size_t)o * elem, ps + (size_t)off * elem, elem);
        for (int i = rank - 1; i >= 0; i--) {
            if (++idx[i] < out_dims[i]) { off += step[i]; break; }
            off -= step[i] * (out_dims[i] - 1);
            idx[i] = 0;
        }
    }
}

int mp_add_transpose(me_graph *g, mp_uses *u, int in, const int *perm, int out, const char *name_base,
                     const char *scope, int *out_t, me_diag *d) {
    int rank = g->tensors[in].rank;
    if (out < 0) {
        int64_t dims[ME_MAX_RANK];
        for (int i = 0; i < rank; i++) dims[i] = g->tensors[in].dims[perm[i]];
        out = mp_add_tensor_like(g, u, in, "_t", rank, dims, d);
        if (out < 0) return -1;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%.480s_transpose", name_base);
    int node = mp_add_node(g, u, buf, ME_OP_TRANSPOSE, &in, 1, &out, 1, scope, d);
    if (node < 0) return -1;
    int64_t pv[ME_MAX_RANK], pd[1] = {rank};
    for (int i = 0; i < rank; i++) pv[i] = perm[i];
    if (me_node_set_tensor_int(g, node, "perm", ME_DT_U32, 1, pd, pv) != ME_OK) {
        me_diag_add(d, "out of memory");
        return -1;
    }
    *out_t = out;
    return node;
}
