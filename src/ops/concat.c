/* Concat: join inputs along `axis` (U32, default rank-1). All inputs share
 * dtype and every dim except `axis`; zero-size inputs contribute nothing. */
#include <string.h>

#include "../core/util.h"
#include "movement.h"

static const me_param_schema concat_params[] = {
    {"axis", ME_PARAM_SCALAR, ME_DT_U32, false},
    {NULL},
};

static me_status concat_axis(const me_node *n, int rank, int *axis, me_diag *d) {
    int64_t a;
    me_status st = me_mv_scalar_int(n, "axis", false, rank - 1, &a, d);
    if (st != ME_OK) return st;
    if (a < 0 || a >= rank)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Concat): axis %lld is outside 0..%d", n->name, (long long)a,
                       rank - 1);
    *axis = (int)a;
    return ME_OK;
}

static me_status concat_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *first = me_mv_input(g, n, 0, d);
    if (!first) return ME_ERR_FORMAT;
    if (!me_mv_elem_size(n, first->dtype, d)) return ME_ERR_UNSUPPORTED;
    int rank = first->rank, axis = 0;
    if (rank < 1) return me_fail(d, ME_ERR_FORMAT, "node '%s' (Concat): inputs must have rank >= 1", n->name);
    me_status st = concat_axis(n, rank, &axis, d);
    if (st != ME_OK) return st;
    int64_t dims[ME_MAX_RANK];
    for (int i = 0; i < rank; i++) dims[i] = first->dims[i];
    for (int i = 1; i < n->n_in; i++) {
        const me_tensor *t = me_mv_input(g, n, i, d);
        if (!t) return ME_ERR_FORMAT;
        if (t->dtype != first->dtype)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Concat): input %d has dtype %s, input 0 has %s", n->name, i,
                           me_dtype_name(t->dtype), me_dtype_name(first->dtype));
        bool same = t->rank == rank;
        for (int a = 0; same && a < rank; a++) same = a == axis || t->dims[a] == first->dims[a];
        if (!same)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Concat): input %d's shape differs from input 0's off axis %d",
                           n->name, i, axis);
        if (!me_add_i64(dims[axis], t->dims[axis], &dims[axis]))
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Concat): output is too large", n->name);
    }
    return me_set_output(g, n, 0, first->dtype, rank, dims, d);
}

static me_status concat_run(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    const me_tensor *first = k->in[0];
    size_t es = me_mv_elem_size(n, first->dtype, d);
    if (!es) return ME_ERR_UNSUPPORTED;
    int rank = first->rank, axis = 0;
    me_status st = concat_axis(n, rank, &axis, d);
    if (st != ME_OK) return st;
    int64_t dims[ME_MAX_RANK];
    for (int a = 0; a < rank; a++) dims[a] = first->dims[a];
    dims[axis] = 0;
    for (int i = 0; i < k->n_in; i++) {
        const me_tensor *t = k->in[i];
        bool same = t && t->rank == rank && me_dtype_size(t->dtype) == es;
        for (int a = 0; same && a < rank; a++) same = a == axis || t->dims[a] == first->dims[a];
        if (!same) return me_fail(d, ME_ERR_INTERNAL, "node '%s' (Concat): input %d does not match", n->name, i);
        dims[axis] += t->dims[axis];
    }
    if ((st = me_mv_check_out(k, 0, rank, dims, es, d)) != ME_OK) return st;

    int64_t outer = 1, inner = (int64_t)es;
    for (int a = 0; a < axis; a++) outer *= dims[a];
    for (int a = axis + 1; a < rank; a++) inner *= dims[a];
    char *o = k->out_data[0];
    for (int64_t r = 0; r < outer; r++) {
        for (int i = 0; i < k->n_in; i++) {
            size_t chunk = (size_t)(k->in[i]->dims[axis] * inner);
            if (!chunk) continue;
            memcpy(o, (const char *)k->in_data[i] + (size_t)r * chunk, chunk);
            o += chunk;
        }
    }
    return ME_OK;
}

const me_opdef me_opdef_CONCAT = {
    .name = "Concat", .package = "qti.aisw",
    .min_in = 1, .max_in = -1, .min_out = 1, .max_out = 1,
    .params = concat_params,
    .infer = concat_infer, .run = concat_run,
};
