/* Graph construction and bookkeeping. */
#include "ir.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "../core/blockq.h"
#include "../core/util.h"
#include "../ops/ops.h"

me_status me_graph_init(me_graph *g, me_diag *d) {
    (void)d;
    memset(g, 0, sizeof *g);
    me_arena_init(&g->arena);
    g->name = "graph";
    return ME_OK;
}

me_status me_graph_adopt_map(me_graph *g, me_mapfile *m) {
    me_mapfile *nm = realloc(g->maps, (size_t)(g->n_maps + 1) * sizeof *nm);
    if (!nm) return ME_ERR_NOMEM;
    g->maps = nm;
    g->maps[g->n_maps++] = *m;
    memset(m, 0, sizeof *m);
    return ME_OK;
}

void me_graph_free(me_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_maps; i++) me_unmap_file(&g->maps[i]);
    free(g->maps);
    free(g->name_slots);
    me_arena_free(&g->arena);
    memset(g, 0, sizeof *g);
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int name_index_insert(me_graph *g, int t);

static int name_index_rebuild(me_graph *g, int cap) {
    int *slots = malloc((size_t)cap * sizeof(int));
    if (!slots) return -1;
    for (int i = 0; i < cap; i++) slots[i] = -1;
    free(g->name_slots);
    g->name_slots = slots;
    g->name_slots_cap = cap;
    for (int t = 0; t < g->n_tensors; t++)
        if (name_index_insert(g, t) < 0) return -1;
    return 0;
}

static int name_index_insert(me_graph *g, int t) {
    if ((g->n_tensors + 1) * 2 > g->name_slots_cap) {
        int cap = g->name_slots_cap ? g->name_slots_cap : 64;
        while ((g->n_tensors + 1) * 2 > cap) cap *= 2;
        return name_index_rebuild(g, cap); /* re-inserts all tensors incl. t */
    }
    uint64_t mask = (uint64_t)g->name_slots_cap - 1;
    uint64_t i = hash_str(g->tensors[t].name) & mask;
    while (g->name_slots[i] >= 0) {
        if (g->name_slots[i] == t) return 0;
        i = (i + 1) & mask;
    }
    g->name_slots[i] = t;
    return 0;
}

int me_graph_find_tensor(const me_graph *g, const char *name) {
    if (!g->name_slots_cap || !name) return -1;
    uint64_t mask = (uint64_t)g->name_slots_cap - 1;
    uint64_t i = hash_str(name) & mask;
    while (g->name_slots[i] >= 0) {
        int t = g->name_slots[i];
        if (strcmp(g->tensors[t].name, name) == 0) return t;
        i = (i + 1) & mask;
    }
    return -1;
}

int me_graph_find_source(const me_graph *g, const char *name, int *ids, int cap) {
    int t = me_graph_find_tensor(g, name), n = 0;
    if (t >= 0 && cap > 0) ids[0] = t;
    n += t >= 0;
    for (int i = 0; name && i < g->n_tensors; i++)
        if (i != t && g->tensors[i].src_name && strcmp(g->tensors[i].src_name, name) == 0) {
            if (n < cap) ids[n] = i;
            n++;
        }
    return n;
}

const char *me_tensor_source_name(const me_tensor *t) { return t->src_name ? t->src_name : t->name; }

#define GROW(g, arr, n, cap, type)                                                    \
    do {                                                                              \
        if ((n) >= (cap)) {                                                           \
            int nc = (cap) ? (cap) * 2 : 16;                                          \
            type *na = me_arena_grow(&(g)->arena, (arr), (size_t)(n), (size_t)nc, sizeof(type)); \
            if (!na) return -1;                                                       \
            (arr) = na;                                                               \
            (cap) = nc;                                                               \
        }                                                                             \
    } while (0)

static int grow_tensors(me_graph *g) { GROW(g, g->tensors, g->n_tensors, g->cap_tensors, me_tensor); return 0; }
static int grow_nodes(me_graph *g) { GROW(g, g->nodes, g->n_nodes, g->cap_nodes, me_node); return 0; }

int me_graph_add_tensor(me_graph *g, const char *name, me_dtype dt, int rank,
                        const int64_t *dims, me_diag *d) {
    if (rank < 0 || rank > ME_MAX_RANK) {
        me_diag_add(d, "tensor '%s': rank %d is outside 0..%d", name, rank, ME_MAX_RANK);
        return -1;
    }
    if (me_graph_find_tensor(g, name) >= 0) {
        me_diag_add(d, "tensor name '%s' is defined twice", name);
        return -1;
    }
    if (grow_tensors(g) < 0) { me_diag_add(d, "out of memory"); return -1; }
    me_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = me_arena_strdup(&g->arena, name);
    if (!t->name) { me_diag_add(d, "out of memory"); return -1; }
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    t->producer = -1;
    int idx = g->n_tensors++;
    if (name_index_insert(g, idx) < 0) { me_diag_add(d, "out of memory"); g->n_tensors--; return -1; }
    return idx;
}

int me_graph_add_tensor_unique(me_graph *g, const char *base, me_dtype dt, int rank,
                               const int64_t *dims, me_diag *d) {
    if (me_graph_find_tensor(g, base) < 0) return me_graph_add_tensor(g, base, dt, rank, dims, d);
    char buf[512];
    for (int k = 1;; k++) {
        snprintf(buf, sizeof buf, "%.480s_%d", base, k);
        if (me_graph_find_tensor(g, buf) < 0) return me_graph_add_tensor(g, buf, dt, rank, dims, d);
    }
}

int me_graph_add_static_ref(me_graph *g, const char *name, me_dtype dt, int rank,
                            const int64_t *dims, const void *data, size_t nbytes, me_diag *d) {
    int t = me_graph_add_tensor(g, name, dt, rank, dims, d);
    if (t < 0) return -1;
    size_t want = me_tensor_nbytes(&g->tensors[t]);
    if (want != nbytes) {
        me_diag_add(d, "static tensor '%s': %zu data bytes, but its shape needs %zu", name, nbytes, want);
        return -1;
    }
    g->tensors[t].flags |= ME_TF_STATIC;
    g->tensors[t].data = data;
    g->tensors[t].nbytes = nbytes;
    return t;
}

int me_graph_add_static_copy(me_graph *g, const char *name, me_dtype dt, int rank,
                             const int64_t *dims, const void *data, size_t nbytes, me_diag *d) {
    void *copy = me_arena_alloc(&g->arena, nbytes);
    if (!copy) { me_diag_add(d, "out of memory copying static tensor '%s'", name); return -1; }
    if (nbytes) memcpy(copy, data, nbytes);
    return me_graph_add_static_ref(g, name, dt, rank, dims, copy, nbytes, d);
}

int me_graph_add_node(me_graph *g, const char *name, int op, const int *in, int n_in,
                      const int *out, int n_out, const char *scope, me_diag *d) {
    if (op < 0 || op >= ME_OP_COUNT) { me_diag_add(d, "node '%s': bad op id %d", name, op); return -1; }
    if (grow_nodes(g) < 0) { me_diag_add(d, "out of memory"); return -1; }
    me_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->name = me_arena_strdup(&g->arena, name);
    n->scope = me_arena_strdup(&g->arena, scope ? scope : "");
    n->op = op;
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = me_arena_calloc(&g->arena, (size_t)(n_in ? n_in : 1), sizeof(int));
    n->out = me_arena_calloc(&g->arena, (size_t)(n_out ? n_out : 1), sizeof(int));
    if (!n->name || !n->scope || !n->in || !n->out) { me_diag_add(d, "out of memory"); return -1; }
    for (int i = 0; i < n_in; i++) {
        if (in[i] < -1 || in[i] >= g->n_tensors) { me_diag_add(d, "node '%s': input %d is not a tensor", name, i); return -1; }
        n->in[i] = in[i];
    }
    for (int i = 0; i < n_out; i++) {
        if (out[i] < 0 || out[i] >= g->n_tensors) { me_diag_add(d, "node '%s': output %d is not a tensor", name, i); return -1; }
        n->out[i] = out[i];
        g->tensors[out[i]].producer = g->n_nodes;
    }
    return g->n_nodes++;
}

static me_param *node_new_param(me_graph *g, int node, const char *name) {
    me_node *n = &g->nodes[node];
    /* replace an existing param of the same name */
    for (int i = 0; i < n->n_params; i++)
        if (strcmp(n->params[i].name, name) == 0) {
            memset(&n->params[i], 0, sizeof(me_param));
            n->params[i].name = me_arena_strdup(&g->arena, name);
            return &n->params[i];
        }
    me_param *np = me_arena_grow(&g->arena, n->params, (size_t)n->n_params, (size_t)n->n_params + 1, sizeof(me_param));
    if (!np) return NULL;
    n->params = np;
    me_param *p = &np[n->n_params++];
    p->name = me_arena_strdup(&g->arena, name);
    return p->name ? p : NULL;
}

me_status me_node_set_scalar_u32(me_graph *g, int node, const char *name, uint32_t v) {
    me_param *p = node_new_param(g, node, name);
    if (!p) return ME_ERR_NOMEM;
    p->kind = ME_PARAM_SCALAR; p->dtype = ME_DT_U32; p->s.i = v;
    return ME_OK;
}
me_status me_node_set_scalar_i32(me_graph *g, int node, const char *name, int32_t v) {
    me_param *p = node_new_param(g, node, name);
    if (!p) return ME_ERR_NOMEM;
    p->kind = ME_PARAM_SCALAR; p->dtype = ME_DT_I32; p->s.i = v;
    return ME_OK;
}
me_status me_node_set_scalar_f32(me_graph *g, int node, const char *name, float v) {
    me_param *p = node_new_param(g, node, name);
    if (!p) return ME_ERR_NOMEM;
    p->kind = ME_PARAM_SCALAR; p->dtype = ME_DT_F32; p->s.f = v;
    return ME_OK;
}
me_status me_node_set_scalar_bool(me_graph *g, int node, const char *name, bool v) {
    me_param *p = node_new_param(g, node, name);
    if (!p) return ME_ERR_NOMEM;
    p->kind = ME_PARAM_SCALAR; p->dtype = ME_DT_BOOL; p->s.i = v ? 1 : 0;
    return ME_OK;
}
me_status me_node_set_tensor_int(me_graph *g, int node, const char *name, me_dtype dt,
                                 int rank, const int64_t *dims, const int64_t *vals) {
    if (rank < 1 || rank > 2) return ME_ERR_INVALID_ARG;
    int64_t count = rank == 1 ? dims[0] : dims[0] * dims[1];
    if (count < 0 || count > (1 << 20)) return ME_ERR_INVALID_ARG;
    me_param *p = node_new_param(g, node, name);
    if (!p) return ME_ERR_NOMEM;
    p->kind = ME_PARAM_TENSOR; p->dtype = dt; p->rank = rank;
    p->dims[0] = dims[0]; p->dims[1] = rank == 2 ? dims[1] : 0;
    p->count = count;
    p->ivals = me_arena_calloc(&g->arena, (size_t)(count ? count : 1), sizeof(int64_t));
    if (!p->ivals) return ME_ERR_NOMEM;
    if (count) memcpy(p->ivals, vals, (size_t)count * sizeof(int64_t));
    return ME_OK;
}

me_status me_node_add_source(me_graph *g, int node, const char *source_name) {
    me_node *n = &g->nodes[node];
    for (int i = 0; i < n->n_sources; i++)
        if (strcmp(n->sources[i], source_name) == 0) return ME_OK;
    const char **ns = me_arena_grow(&g->arena, (void *)n->sources, (size_t)n->n_sources, (size_t)n->n_sources + 1, sizeof(char *));
    if (!ns) return ME_ERR_NOMEM;
    ns[n->n_sources] = me_arena_strdup(&g->arena, source_name);
    if (!ns[n->n_sources]) return ME_ERR_NOMEM;
    n->sources = ns;
    n->n_sources++;
    return ME_OK;
}

const me_param *me_node_param(const me_node *n, const char *name) {
    for (int i = 0; i < n->n_params; i++)
        if (strcmp(n->params[i].name, name) == 0) return &n->params[i];
    return NULL;
}

int64_t me_param_int(const me_node *n, const char *name, int64_t dflt) {
    const me_param *p = me_node_param(n, name);
    if (!p || p->kind != ME_PARAM_SCALAR) return dflt;
    return p->dtype == ME_DT_F32 ? (int64_t)p->s.f : p->s.i;
}

double me_param_float(const me_node *n, const char *name, double dflt) {
    const me_param *p = me_node_param(n, name);
    if (!p || p->kind != ME_PARAM_SCALAR) return dflt;
    return p->dtype == ME_DT_F32 ? p->s.f : (double)p->s.i;
}

static me_status add_io(me_graph *g, int **arr, int *n, int *cap, int t) {
    if (*n >= *cap) {
        int nc = *cap ? *cap * 2 : 8;
        int *na = me_arena_grow(&g->arena, *arr, (size_t)*n, (size_t)nc, sizeof(int));
        if (!na) return ME_ERR_NOMEM;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = t;
    return ME_OK;
}

me_status me_graph_add_input(me_graph *g, int t) {
    g->tensors[t].flags |= ME_TF_INPUT;
    return add_io(g, &g->inputs, &g->n_inputs, &g->cap_inputs, t);
}

me_status me_graph_add_output(me_graph *g, int t) {
    g->tensors[t].flags |= ME_TF_OUTPUT;
    return add_io(g, &g->outputs, &g->n_outputs, &g->cap_outputs, t);
}

int64_t me_shape_numel(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || !me_mul_i64(n, dims[i], &n)) return -1;
    }
    return n;
}

int64_t me_tensor_numel(const me_tensor *t) { return me_shape_numel(t->rank, t->dims); }

size_t me_tensor_nbytes(const me_tensor *t) {
    int64_t n = me_tensor_numel(t);
    if (n < 0) return 0;
    if (t->dtype == ME_DT_I4 || t->dtype == ME_DT_U4) return (size_t)((n + 1) / 2);
    if (t->dtype == ME_DT_BLOCKQ) {
        /* rows of blocks along the last dim; the encoding names the block type */
        if (!t->qenc || t->qenc->kind != ME_QENC_BLOCK || t->rank < 1) return 0;
        int64_t ncols = t->dims[t->rank - 1];
        if (ncols <= 0) return 0;
        size_t row = me_blockq_row_bytes(t->qenc->block_type, ncols), b;
        if (!row || !me_mul_size((size_t)(n / ncols), row, &b)) return 0;
        return b;
    }
    size_t b;
    if (!me_mul_size((size_t)n, me_dtype_size(t->dtype), &b)) return 0;
    return b;
}

me_status me_graph_compact(me_graph *g, me_diag *d) {
    /* 1. drop dead nodes */
    int w = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead) g->nodes[w++] = g->nodes[i];
    g->n_nodes = w;
    /* 2. find used tensors */
    unsigned char *used = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), 1);
    int *remap = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof(int));
    if (!used || !remap) { free(used); free(remap); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < g->n_inputs; i++) used[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        me_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) if (n->in[k] >= 0) used[n->in[k]] = 1;
        for (int k = 0; k < n->n_out; k++) used[n->out[k]] = 1;
    }
    int nt = 0;
    for (int t = 0; t < g->n_tensors; t++) {
        if (used[t]) { remap[t] = nt; g->tensors[nt++] = g->tensors[t]; }
        else remap[t] = -1;
    }
    g->n_tensors = nt;
    for (int i = 0; i < g->n_inputs; i++) g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++) g->outputs[i] = remap[g->outputs[i]];
    for (int t = 0; t < nt; t++) g->tensors[t].producer = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        me_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) if (n->in[k] >= 0) n->in[k] = remap[n->in[k]];
        for (int k = 0; k < n->n_out; k++) { n->out[k] = remap[n->out[k]]; g->tensors[n->out[k]].producer = i; }
    }
    free(used);
    free(remap);
    if (name_index_rebuild(g, g->name_slots_cap ? g->name_slots_cap : 64) < 0)
        return me_fail(d, ME_ERR_NOMEM, "out of memory");
    return ME_OK;
}

me_status me_graph_toposort(const me_graph *g, int *order, int *n_order, me_diag *d) {
    /* Kahn's algorithm over live nodes; edges via tensor producers. */
    int nn = g->n_nodes;
    int *indeg = calloc((size_t)(nn ? nn : 1), sizeof(int));
    int *queue = malloc((size_t)(nn ? nn : 1) * sizeof(int));
    /* consumers lists: count per tensor then CSR */
    int *cstart = calloc((size_t)g->n_tensors + 1, sizeof(int));
    if (!indeg || !queue || !cstart) { free(indeg); free(queue); free(cstart); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < nn; i++) {
        const me_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t >= 0 && g->tensors[t].producer >= 0 && !g->nodes[g->tensors[t].producer].dead) {
                indeg[i]++;
                cstart[t + 1]++;
            }
        }
    }
    for (int t = 0; t < g->n_tensors; t++) cstart[t + 1] += cstart[t];
    int *cons = malloc((size_t)(cstart[g->n_tensors] ? cstart[g->n_tensors] : 1) * sizeof(int));
    int *fill = calloc((size_t)g->n_tensors + 1, sizeof(int));
    if (!cons || !fill) { free(indeg); free(queue); free(cstart); free(cons); free(fill); return me_fail(d, ME_ERR_NOMEM, "out of memory"); }
    for (int i = 0; i < nn; i++) {
        const me_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (t >= 0 && g->tensors[t].producer >= 0 && !g->nodes[g->tensors[t].producer].dead)
                cons[cstart[t] + fill[t]++] = i;
        }
    }
    int qh = 0, qt = 0, live = 0;
    for (int i = 0; i < nn; i++) {
        if (g->nodes[i].dead) continue;
        live++;
        if (indeg[i] == 0) queue[qt++] = i;
    }
    int cnt = 0;
    while (qh < qt) {
        int i = queue[qh++];
        order[cnt++] = i;
        const me_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int t = n->out[k];
            for (int c = cstart[t]; c < cstart[t + 1]; c++)
                if (--indeg[cons[c]] == 0) queue[qt++] = cons[c];
        }
    }
    me_status st = ME_OK;
    if (cnt != live) {
        for (int i = 0; i < nn; i++)
            if (!g->nodes[i].dead && indeg[i] > 0) {
                st = me_fail(d, ME_ERR_FORMAT, "the graph has a cycle through node '%s'", g->nodes[i].name);
                break;
            }
    }
    *n_order = cnt;
    free(indeg); free(queue); free(cstart); free(cons); free(fill);
    return st;
}

const char *me_scope_from_name(me_arena *a, const char *node_name) {
    if (!node_name || node_name[0] != '/') return "";
    const char *last = strrchr(node_name, '/');
    if (last == node_name) return "";
    return me_arena_strndup(a, node_name, (size_t)(last - node_name));
}

me_status me_node_set_tensor_f32(me_graph *g, int node, const char *name, int64_t count, const float *vals) {
    if (count < 0 || count > (1 << 20)) return ME_ERR_INVALID_ARG;
    me_param *p = node_new_param(g, node, name);
    if (!p) return ME_ERR_NOMEM;
    p->kind = ME_PARAM_TENSOR; p->dtype = ME_DT_F32; p->rank = 1;
    p->dims[0] = count; p->count = count;
    p->fvals = me_arena_calloc(&g->arena, (size_t)(count ? count : 1), sizeof(float));
    if (!p->fvals) return ME_ERR_NOMEM;
    if (count) memcpy(p->fvals, vals, (size_t)count * sizeof(float));
    return ME_OK;
}

void me_graph_release_static(me_graph *g, int t) {
    if (t < 0 || t >= g->n_tensors) return;
    const me_tensor *tt = &g->tensors[t];
    if (!(tt->flags & ME_TF_STATIC) || !tt->data || !tt->nbytes) return;
    const uint8_t *p = tt->data;
    for (int i = 0; i < g->n_maps; i++) {
        const me_mapfile *m = &g->maps[i];
        if (!m->is_mmap || p < m->data || p + tt->nbytes > m->data + m->size) continue;
        uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
        uintptr_t hi = ((uintptr_t)p + tt->nbytes) & ~(page - 1);
        if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
        return;
    }
}
