/* Helpers shared by the passes: a use map kept up to date while a pass
 * rewrites the graph, node/tensor edits that maintain it, and permutation
 * arithmetic. Internal to src/passes. */
#ifndef ME_PASS_UTIL_H
#define ME_PASS_UTIL_H

#include <stdbool.h>

#include "../ops/ops.h"
#include "passes.h"

/* One use of a tensor: input `slot` of live node `node`. */
typedef struct mp_use { int node, slot; } mp_use;

typedef struct mp_use_list { mp_use *v; int n, cap; } mp_use_list;

/* Uses of every tensor by live nodes. Graph outputs are not uses; ask
 * mp_is_output. Edit the graph through the mp_* functions below so the map
 * stays exact. */
typedef struct mp_uses {
    mp_use_list *t;   /* per tensor */
    int n_tensors;
} mp_uses;

me_status mp_uses_build(const me_graph *g, mp_uses *u, me_diag *d);
void mp_uses_free(mp_uses *u);
/* Make room for tensors added since the last build/sync. */
me_status mp_uses_sync(const me_graph *g, mp_uses *u, me_diag *d);
int mp_use_count(const mp_uses *u, int t);
/* The only consumer of t (node index), or -1 if t has not exactly one use. */
int mp_single_consumer(const mp_uses *u, int t);

static inline bool mp_is_output(const me_graph *g, int t) { return (g->tensors[t].flags & ME_TF_OUTPUT) != 0; }
static inline bool mp_is_input(const me_graph *g, int t) { return (g->tensors[t].flags & ME_TF_INPUT) != 0; }
static inline bool mp_is_static(const me_graph *g, int t) { return t >= 0 && (g->tensors[t].flags & ME_TF_STATIC) != 0; }
/* Live producer of t, or -1. */
int mp_producer(const me_graph *g, int t);

/* Set input `slot` of node to tensor t (-1 allowed). */
me_status mp_set_input(me_graph *g, mp_uses *u, int node, int slot, int t, me_diag *d);
/* Every live use of `from` now reads `to` (graph outputs untouched). */
me_status mp_replace_uses(me_graph *g, mp_uses *u, int from, int to, me_diag *d);
/* Output k of node now writes tensor t (whose old producer, if any, must be
 * dead); the previous output tensor loses its producer. */
void mp_set_output(me_graph *g, int node, int k, int t);
/* Mark a node dead, drop its uses and clear the producer of its outputs. */
void mp_kill(me_graph *g, mp_uses *u, int node);
/* me_graph_add_node + register its uses. Returns the node index or -1. */
int mp_add_node(me_graph *g, mp_uses *u, const char *name, int op, const int *in, int n_in,
                const int *out, int n_out, const char *scope, me_diag *d);

/* A new tensor shaped like `like` (dtype, qenc) with the given dims, named
 * after `like` plus suffix. Returns its index or -1. */
int mp_add_tensor_like(me_graph *g, mp_uses *u, int like, const char *suffix, int rank,
                       const int64_t *dims, me_diag *d);
/* A new static tensor whose bytes already live in the graph arena. */
int mp_add_static(me_graph *g, mp_uses *u, const char *base, me_dtype dt, int rank,
                  const int64_t *dims, const void *data, size_t nbytes, me_diag *d);

/* A rewrite tried at one node: returns ME_OK whether or not it applied. */
typedef me_status (*mp_node_rule)(me_graph *g, mp_uses *u, int node, const void *arg, me_diag *d);
/* The driver of a pattern pass: builds the use map and tries `rule` at every
 * live node the graph has when the pass starts (nodes a rule adds need no
 * second look), stopping at the first failure. */
me_status mp_each_node(me_graph *g, mp_node_rule rule, const void *arg, me_diag *d);

/* Record on node `dst` the sources of node `src` (or its name if it has none). */
me_status mp_absorb_sources(me_graph *g, int dst, int src);

/* True if the quantisation encodings are equal (both NULL counts as equal). */
bool mp_qenc_equal(const me_qenc *a, const me_qenc *b);
/* True if op `op`'s schema lists a param called `name`. */
bool mp_schema_has(int op, const char *name);

/* ---- permutations: out.dims[i] = in.dims[perm[i]] ---- */
/* Read a Transpose node's perm; false if absent/invalid for `rank`. */
bool mp_get_perm(const me_node *n, int rank, int *perm);
bool mp_perm_valid(const int *p, int rank);
bool mp_perm_is_identity(const int *p, int rank);
void mp_perm_inverse(const int *p, int rank, int *inv);
/* Transpose(q) after Transpose(p) equals Transpose(r): r[i] = p[q[i]]. */
void mp_perm_compose(const int *p, const int *q, int rank, int *r);
/* True if the permutation keeps the order of the axes whose size is not 1,
 * i.e. it only relabels the data (a reshape). `dims` are the input dims. */
bool mp_perm_is_relabel(const int *p, int rank, const int64_t *dims);
/* Permute row-major data of `elem` bytes per element. */
void mp_permute_data(const void *src, void *dst, size_t elem, int rank, const int64_t *in_dims,
                     const int *perm);
/* Add a Transpose node in -> out (out created when -1, shaped from in and
 * perm). Returns the node index or -1; *out_t receives the output tensor. */
int mp_add_transpose(me_graph *g, mp_uses *u, int in, const int *perm, int out, const char *name_base,
                     const char *scope, int *out_t, me_diag *d);

/* Element accessors for static data (F32 only, other dtypes refused by callers). */
static inline const float *mp_f32(const me_graph *g, int t) { return (const float *)g->tensors[t].data; }

/* Float32 without a quantisation encoding: what the float-only rewrites need. */
static inline bool mp_plain_f32(const me_graph *g, int t) {
    return t >= 0 && g->tensors[t].dtype == ME_DT_F32 && (!g->tensors[t].qenc || g->tensors[t].qenc->kind == ME_QENC_NONE);
}

static inline bool mp_same_shape(const me_graph *g, int a, int b) {
    const me_tensor *x = &g->tensors[a], *y = &g->tensors[b];
    if (x->rank != y->rank) return false;
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] != y->dims[i]) return false;
    return true;
}

/* Value of a static one-element float tensor. */
static inline bool mp_scalar_value(const me_graph *g, int t, float *v) {
    if (!mp_is_static(g, t) || !mp_plain_f32(g, t) || !g->tensors[t].data || me_tensor_numel(&g->tensors[t]) != 1)
        return false;
    *v = mp_f32(g, t)[0];
    return true;
}

/* The one node reading t (t no graph output), or -1. */
static inline int mp_only_reader(const me_graph *g, const mp_uses *u, int t) {
    return mp_is_output(g, t) ? -1 : mp_single_consumer(u, t);
}

#endif
