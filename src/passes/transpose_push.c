/* Push a Transpose through a layout-agnostic op: op(T(p)(a), ...) becomes
 * T(p')(op'(a, ...)) with op's axis params remapped and static operands
 * permuted, so transposes travel down the graph until they meet their
 * inverse. Notation: b = T(p)(a) means b.dims[i] = a.dims[p[i]]; axis i of b
 * is axis p[i] of a. */
#include "transpose_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"

mp_layout_kind mp_layout_kind_of(int op) {
    switch (op) {
    case ME_OP_ADD: case ME_OP_SUBTRACT: case ME_OP_MULTIPLY: case ME_OP_DIVIDE: case ME_OP_POWER:
    case ME_OP_MAXIMUM: case ME_OP_MINIMUM: case ME_OP_MOD: case ME_OP_FMOD: case ME_OP_EQUAL:
    case ME_OP_NOT_EQUAL: case ME_OP_GREATER: case ME_OP_GREATER_EQUAL: case ME_OP_LESS:
    case ME_OP_LESS_EQUAL: case ME_OP_AND: case ME_OP_OR: case ME_OP_XOR: case ME_OP_SELECT:
    case ME_OP_ABS: case ME_OP_CEIL: case ME_OP_COS: case ME_OP_EXP: case ME_OP_FLOOR: case ME_OP_LOG:
    case ME_OP_NEG: case ME_OP_NOT: case ME_OP_ROUND: case ME_OP_SIGN: case ME_OP_SIN: case ME_OP_SQRT:
    case ME_OP_RSQRT: case ME_OP_RECIPROCAL: case ME_OP_ERF:
    case ME_OP_RELU: case ME_OP_RELU_MIN_MAX: case ME_OP_SIGMOID: case ME_OP_TANH: case ME_OP_ELU:
    case ME_OP_GELU: case ME_OP_HARD_SWISH: case ME_OP_PRELU: case ME_OP_NEURON: case ME_OP_SOFTPLUS:
    case ME_OP_CAST: case ME_OP_QUANTIZE: case ME_OP_DEQUANTIZE:
        return MP_LK_ELEMWISE;
    case ME_OP_CONCAT: return MP_LK_CONCAT;
    case ME_OP_SOFTMAX: case ME_OP_LOG_SOFTMAX: case ME_OP_CUMSUM: return MP_LK_AXIS;
    case ME_OP_SPLIT: return MP_LK_SPLIT;
    case ME_OP_REDUCE_MAX: case ME_OP_REDUCE_MIN: case ME_OP_REDUCE_MEAN: case ME_OP_REDUCE_SUM:
    case ME_OP_REDUCE_PROD: case ME_OP_REDUCE_SUM_SQUARE:
        return MP_LK_REDUCE;
    case ME_OP_ARGMAX: case ME_OP_ARGMIN: return MP_LK_ARG;
    case ME_OP_PAD: return MP_LK_PAD;
    case ME_OP_TILE: return MP_LK_TILE;
    case ME_OP_STRIDED_SLICE: return MP_LK_SLICE;
    default: return MP_LK_NONE;
    }
}

int mp_transpose_producer(const me_graph *g, int t, int *perm) {
    int p = mp_producer(g, t);
    if (p < 0) return -1;
    const me_node *n = &g->nodes[p];
    if (n->op != ME_OP_TRANSPOSE || n->n_in < 1 || n->in[0] < 0 || n->n_out != 1) return -1;
    if (!mp_get_perm(n, g->tensors[n->in[0]].rank, perm)) return -1;
    return p;
}

bool mp_perm_is_last_two_swap(const int *p, int rank) {
    if (rank < 2) return false;
    for (int i = 0; i < rank - 2; i++)
        if (p[i] != i) return false;
    return p[rank - 2] == rank - 1 && p[rank - 1] == rank - 2;
}

bool mp_transpose_absorbable(const me_graph *g, int consumer, int slot, int tnode) {
    const me_node *c = &g->nodes[consumer], *t = &g->nodes[tnode];
    const me_tensor *a = &g->tensors[t->in[0]];
    int perm[ME_MAX_RANK];
    if (!mp_get_perm(t, a->rank, perm)) return false;
    if (c->op == ME_OP_TRANSPOSE || mp_layout_kind_of(c->op) != MP_LK_NONE) return true;
    if (c->op == ME_OP_RESHAPE) {
        int64_t dims[ME_MAX_RANK];
        int out_perm[ME_MAX_RANK];
        return mp_perm_is_relabel(perm, a->rank, a->dims) || mp_reshape_plan(g, consumer, perm, dims, out_perm);
    }
    if (c->op == ME_OP_MATMUL && slot < 2)
        return mp_perm_is_last_two_swap(perm, a->rank) && mp_schema_has(c->op, slot ? "transpose_in1" : "transpose_in0");
    return false;
}

bool mp_transpose_movable(const me_graph *g, const mp_uses *u, int t, int tnode) {
    /* the transpose would stay anyway: do not add one after its consumer */
    if (mp_is_output(g, t)) return false;
    for (int i = 0; i < u->t[t].n; i++)
        if (!mp_transpose_absorbable(g, u->t[t].v[i].node, u->t[t].v[i].slot, tnode)) return false;
    return true;
}

/* ---- params ---- */

static me_dtype schema_dtype(int op, const char *name) {
    for (const me_param_schema *s = me_opdefs[op]->params; s && s->name; s++)
        if (strcmp(s->name, name) == 0) return s->dtype;
    return ME_DT_U32;
}

static me_status set_int_scalar(me_graph *g, int node, const char *name, int64_t v) {
    const me_param *p = me_node_param(&g->nodes[node], name);
    me_dtype dt = p ? p->dtype : schema_dtype(g->nodes[node].op, name);
    return dt == ME_DT_I32 ? me_node_set_scalar_i32(g, node, name, (int32_t)v)
                           : me_node_set_scalar_u32(g, node, name, (uint32_t)v);
}

/* An integer tensor param with `rows` rows of `cols` values (rank 1 when
 * cols == 1), or NULL. */
static const me_param *int_rows(const me_node *n, const char *name, int rows, int cols) {
    const me_param *p = me_node_param(n, name);
    if (!p || p->kind != ME_PARAM_TENSOR || !p->ivals || p->count != (int64_t)rows * cols) return NULL;
    if (cols > 1 && (p->rank != 2 || p->dims[1] != cols)) return NULL;
    return p;
}

/* new row p[i] = old row i */
static me_status permute_rows(me_graph *g, int node, const char *name, const int *p, int rows, int cols) {
    const me_param *old = int_rows(&g->nodes[node], name, rows, cols);
    if (!old) return ME_ERR_INTERNAL;
    int64_t vals[ME_MAX_RANK * 3];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) vals[p[i] * cols + j] = old->ivals[i * cols + j];
    int64_t dims[2] = {old->dims[0], old->dims[1]};
    return me_node_set_tensor_int(g, node, name, old->dtype, old->rank, dims, vals);
}

static int64_t permute_mask(int64_t mask, const int *p, int rank) {
    int64_t out = 0;
    for (int i = 0; i < rank; i++)
        if (mask & ((int64_t)1 << i)) out |= (int64_t)1 << p[i];
    return out;
}

static bool axis_ok(int64_t a, int rank) { return a >= 0 && a < rank; }

/* ---- the rewrite ---- */

enum { SLOT_KEEP, SLOT_SOURCE, SLOT_PERMUTE };

typedef struct push_plan {
    int kind;
    int rank, perm[ME_MAX_RANK];
    int *action, *source;        /* per input slot */
    /* output axis order: every output gets out_perm (rank out_rank) */
    int out_rank, out_perm[ME_MAX_RANK];
    /* REDUCE / ARG: reduced axes of the original input */
    bool reduced[ME_MAX_RANK];
    bool keep_dims;
} push_plan;

static bool qenc_has_axis(const me_qenc *q) {
    return q && (q->kind == ME_QENC_AXIS_SCALE_OFFSET || q->kind == ME_QENC_BLOCK);
}

/* Output axis order when the axes in `reduced` are dropped: b's remaining
 * axes i_0 < i_1 < ... live at a's axes p[i_k]; op' keeps a's remaining axes
 * in ascending order. */
static void reduced_perm(push_plan *pl) {
    int a_axes[ME_MAX_RANK], n = 0;
    bool a_kept[ME_MAX_RANK] = {0};
    for (int i = 0; i < pl->rank; i++)
        if (!pl->reduced[i]) { a_axes[n++] = pl->perm[i]; a_kept[pl->perm[i]] = true; }
    int pos[ME_MAX_RANK], m = 0;
    for (int j = 0; j < pl->rank; j++)
        if (a_kept[j]) pos[j] = m++;
    pl->out_rank = n;
    for (int k = 0; k < n; k++) pl->out_perm[k] = pos[a_axes[k]];
}

static bool plan_params(const me_graph *g, const me_node *n, push_plan *pl) {
    int r = pl->rank;
    pl->out_rank = r;
    memcpy(pl->out_perm, pl->perm, sizeof pl->perm);
    switch (pl->kind) {
    case MP_LK_ELEMWISE:
        return true;
    case MP_LK_CONCAT:
        return axis_ok(me_param_int(n, "axis", r - 1), r);
    case MP_LK_AXIS:
        if (n->op == ME_OP_CUMSUM && !me_node_param(n, "axis")) return false;
        return axis_ok(me_param_int(n, "axis", r - 1), r);
    case MP_LK_SPLIT:
        return me_node_param(n, "axis") && axis_ok(me_param_int(n, "axis", -1), r);
    case MP_LK_REDUCE: case MP_LK_ARG: {
        memset(pl->reduced, 0, sizeof pl->reduced);
        if (pl->kind == MP_LK_REDUCE) {
            const me_param *ax = me_node_param(n, "axes");
            if (!ax || ax->kind != ME_PARAM_TENSOR || !ax->ivals || ax->count < 1 || ax->count > r) return false;
            for (int64_t i = 0; i < ax->count; i++) {
                if (!axis_ok(ax->ivals[i], r) || pl->reduced[ax->ivals[i]]) return false;
                pl->reduced[ax->ivals[i]] = true;
            }
        } else {
            int64_t a = me_param_int(n, "axis", 0);
            if (!axis_ok(a, r)) return false;
            pl->reduced[a] = true;
        }
        pl->keep_dims = me_param_int(n, "keep_dims", 0) != 0;
        if (!pl->keep_dims) reduced_perm(pl);
        return true;
    }
    case MP_LK_PAD:
        return int_rows(n, "pad_amount", r, 2) != NULL;
    case MP_LK_TILE:
        return int_rows(n, "multiples", r, 1) != NULL;
    case MP_LK_SLICE:
        if (me_param_int(n, "shrink_axes", 0) != 0 || me_param_int(n, "new_axes_mask", 0) != 0) return false;
        return int_rows(n, "ranges", r, 3) != NULL;
    default:
        return false;
    }
}

static me_status apply_params(me_graph *g, int c, const push_plan *pl) {
    const me_node *n = &g->nodes[c];
    const int *p = pl->perm;
    int r = pl->rank;
    switch (pl->kind) {
    case MP_LK_CONCAT: case MP_LK_AXIS: case MP_LK_SPLIT:
        return set_int_scalar(g, c, "axis", p[me_param_int(n, "axis", r - 1)]);
    case MP_LK_ARG:
        return set_int_scalar(g, c, "axis", p[me_param_int(n, "axis", 0)]);
    case MP_LK_REDUCE: {
        const me_param *ax = me_node_param(n, "axes");
        int64_t vals[ME_MAX_RANK], cnt = 0;
        bool on[ME_MAX_RANK] = {0};
        for (int i = 0; i < r; i++)
            if (pl->reduced[i]) on[p[i]] = true;
        for (int j = 0; j < r; j++)
            if (on[j]) vals[cnt++] = j;
        int64_t dims[1] = {cnt};
        return me_node_set_tensor_int(g, c, "axes", ax->dtype, 1, dims, vals);
    }
    case MP_LK_PAD: return permute_rows(g, c, "pad_amount", p, r, 2);
    case MP_LK_TILE: return permute_rows(g, c, "multiples", p, r, 1);
    case MP_LK_SLICE: {
        me_status st = permute_rows(g, c, "ranges", p, r, 3);
        const char *masks[2] = {"begin_mask", "end_mask"};
        for (int i = 0; st == ME_OK && i < 2; i++) {
            int64_t m = me_param_int(&g->nodes[c], masks[i], 0);
            if (m) st = set_int_scalar(g, c, masks[i], permute_mask(m, p, r));
        }
        return st;
    }
    default:
        return ME_OK;
    }
}

/* A static operand as seen after the push: rank-expanded to `rank` (leading
 * 1s), then transposed by the inverse perm. */
static int permute_static(me_graph *g, mp_uses *u, int s, const int *perm, int rank, me_diag *d) {
    const me_tensor *t = &g->tensors[s];
    int64_t e[ME_MAX_RANK], nd[ME_MAX_RANK];
    for (int i = 0; i < rank; i++) e[i] = i < rank - t->rank ? 1 : t->dims[i - (rank - t->rank)];
    int inv[ME_MAX_RANK];
    mp_perm_inverse(perm, rank, inv);
    for (int j = 0; j < rank; j++) nd[j] = e[inv[j]];
    size_t elem = me_dtype_size(t->dtype);
    void *data = me_arena_alloc(&g->arena, t->nbytes);
    if (!data) { me_diag_add(d, "out of memory permuting '%s'", t->name); return -1; }
    mp_permute_data(t->data, data, elem, rank, e, inv);
    char name[512];
    snprintf(name, sizeof name, "%.480s_perm", t->name);
    me_dtype dt = t->dtype;
    me_qenc *q = t->qenc;
    const char *src = t->src_name;
    size_t nb = t->nbytes;
    int ns = mp_add_static(g, u, name, dt, rank, nd, data, nb, d);
    if (ns >= 0) {
        g->tensors[ns].qenc = q;
        g->tensors[ns].src_name = src;
    }
    return ns;
}

/* Decide whether node c can be pushed through; fills pl. */
static bool plan_push(const me_graph *g, const mp_uses *u, int c, push_plan *pl) {
    const me_node *n = &g->nodes[c];
    pl->kind = mp_layout_kind_of(n->op);
    if (pl->kind == MP_LK_NONE || n->n_out < 1) return false;
    /* the perm comes from the first non-static input */
    int first = -1;
    for (int k = 0; k < n->n_in && first < 0; k++)
        if (n->in[k] >= 0 && !mp_is_static(g, n->in[k])) first = k;
    if (first < 0 || mp_transpose_producer(g, n->in[first], pl->perm) < 0) return false;
    pl->rank = g->tensors[n->in[first]].rank;
    if (pl->rank < 1 || mp_perm_is_identity(pl->perm, pl->rank)) return false;
    int r = pl->rank;
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        pl->action[k] = SLOT_KEEP;
        pl->source[k] = t;
        if (t < 0) continue;
        const me_tensor *tt = &g->tensors[t];
        if (qenc_has_axis(tt->qenc)) return false;
        if (mp_is_static(g, t)) {
            if (pl->kind != MP_LK_ELEMWISE && pl->kind != MP_LK_CONCAT) return false;
            if (tt->rank > r || (pl->kind == MP_LK_CONCAT && tt->rank != r)) return false;
            if (pl->kind == MP_LK_ELEMWISE && me_tensor_numel(tt) == 1) continue; /* broadcasts anyway */
            if (me_dtype_size(tt->dtype) == 0 || !tt->data) return false;
            pl->action[k] = SLOT_PERMUTE;
            continue;
        }
        int perm[ME_MAX_RANK];
        int tp = mp_transpose_producer(g, t, perm);
        if (tp < 0 || g->tensors[g->nodes[tp].in[0]].rank != r || memcmp(perm, pl->perm, (size_t)r * sizeof(int)))
            return false;
        if (!mp_transpose_movable(g, u, t, tp)) return false;
        pl->action[k] = SLOT_SOURCE;
        pl->source[k] = g->nodes[tp].in[0];
        if (qenc_has_axis(g->tensors[pl->source[k]].qenc)) return false;
    }
    if (!plan_params(g, n, pl)) return false;
    for (int k = 0; k < n->n_out; k++) {
        const me_tensor *y = &g->tensors[n->out[k]];
        if (y->rank != pl->out_rank || qenc_has_axis(y->qenc)) return false;
    }
    return true;
}

me_status mp_push_transpose(me_graph *g, mp_uses *u, int c, bool *done, me_diag *d) {
    *done = false;
    int n_in = g->nodes[c].n_in;
    push_plan pl;
    memset(&pl, 0, sizeof pl);
    pl.action = malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
    pl.source = malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
    int *old_in = malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
    me_status st = ME_OK;
    if (!pl.action || !pl.source || !old_in) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
    if (!plan_push(g, u, c, &pl)) goto done;
    memcpy(old_in, g->nodes[c].in, (size_t)n_in * sizeof(int));
    /* the transposes' sources, for the new ones */
    int src_node = -1;
    for (int k = 0; k < n_in && src_node < 0; k++)
        if (pl.action[k] == SLOT_SOURCE) src_node = mp_producer(g, old_in[k]);
    for (int k = 0; k < n_in; k++) {
        if (pl.action[k] != SLOT_PERMUTE) continue;
        pl.source[k] = permute_static(g, u, old_in[k], pl.perm, pl.rank, d);
        if (pl.source[k] < 0) { st = ME_ERR_NOMEM; goto done; }
    }
    if ((st = apply_params(g, c, &pl)) != ME_OK) { me_diag_add(d, "out of memory"); goto done; }
    bool out_identity = mp_perm_is_identity(pl.out_perm, pl.out_rank);
    for (int k = 0; k < g->nodes[c].n_out && !out_identity; k++) {
        int y = g->nodes[c].out[k];
        int64_t dims[ME_MAX_RANK];
        for (int i = 0; i < pl.out_rank; i++) dims[pl.out_perm[i]] = g->tensors[y].dims[i];
        int y2 = mp_add_tensor_like(g, u, y, "_perm", pl.out_rank, dims, d);
        if (y2 < 0) { st = ME_ERR_NOMEM; goto done; }
        mp_set_output(g, c, k, y2);
        char name[512];
        snprintf(name, sizeof name, "%.400s_out%d", g->nodes[c].name, k);
        int tmp;
        int tn = mp_add_transpose(g, u, y2, pl.out_perm, y, name, g->nodes[c].scope, &tmp, d);
        if (tn < 0) { st = ME_ERR_NOMEM; goto done; }
        if (src_node >= 0 && (st = mp_absorb_sources(g, tn, src_node)) != ME_OK) goto done;
    }
    for (int k = 0; k < n_in; k++)
        if ((st = mp_set_input(g, u, c, k, pl.source[k], d)) != ME_OK) goto done;
    /* input transposes nobody reads any more */
    for (int k = 0; k < n_in; k++) {
        if (pl.action[k] != SLOT_SOURCE) continue;
        int tp = mp_producer(g, old_in[k]);
        if (tp >= 0 && mp_use_count(u, old_in[k]) == 0 && !mp_is_output(g, old_in[k])) mp_kill(g, u, tp);
    }
    *done = true;
done:
    free(pl.action);
    free(pl.source);
    free(old_in);
    return st;
}
