/* Split along `axis` (U32, required). `split_index` (U32 [n_out-1]) lists the
 * start offsets of outputs 1..n_out-1 (output 0 starts at 0), QNN style:
 * 12 -> 4,4,4 is split_index = [4, 8]. Offsets are non-decreasing, so equal
 * neighbours give a zero-size output. */
#include <string.h>

#include "movement.h"

#define SPLIT_MAX_OUT 1024

static const me_param_schema split_params[] = {
    {"axis", ME_PARAM_SCALAR, ME_DT_U32, true},
    {"split_index", ME_PARAM_TENSOR, ME_DT_U32, true},
    {NULL},
};

/* Output o covers [start[o], start[o+1]) along axis. */
static me_status split_plan(const me_node *n, const me_tensor *in, int *axis, int64_t *start, me_diag *d) {
    int64_t a;
    me_status st = me_mv_scalar_int(n, "axis", true, 0, &a, d);
    if (st != ME_OK) return st;
    if (a < 0 || a >= in->rank)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Split): axis %lld is outside 0..%d", n->name, (long long)a,
                       in->rank - 1);
    const me_param *p = me_mv_int_tensor(n, "split_index", ME_DT_U32, 1, n->n_out - 1, 0, d);
    if (!p) return ME_ERR_FORMAT;
    int64_t dim = in->dims[a];
    start[0] = 0;
    for (int o = 1; o < n->n_out; o++) {
        int64_t v = p->ivals[o - 1];
        if (v < start[o - 1] || v > dim)
            return me_fail(d, ME_ERR_FORMAT,
                           "node '%s' (Split): split_index must be non-decreasing within 0..%lld (entry %d is %lld)",
                           n->name, (long long)dim, o - 1, (long long)v);
        start[o] = v;
    }
    start[n->n_out] = dim;
    *axis = (int)a;
    return ME_OK;
}

static me_status split_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *in = me_mv_input(g, n, 0, d);
    if (!in) return ME_ERR_FORMAT;
    if (!me_mv_elem_size(n, in->dtype, d)) return ME_ERR_UNSUPPORTED;
    if (n->n_out < 1 || n->n_out > SPLIT_MAX_OUT)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Split): %d outputs (1..%d supported)", n->name, n->n_out,
                       SPLIT_MAX_OUT);
    int64_t start[SPLIT_MAX_OUT + 1];
    int axis;
    me_status st = split_plan(n, in, &axis, start, d);
    if (st != ME_OK) return st;
    int64_t dims[ME_MAX_RANK];
    for (int a = 0; a < in->rank; a++) dims[a] = in->dims[a];
    for (int o = 0; o < n->n_out; o++) {
        dims[axis] = start[o + 1] - start[o];
        if ((st = me_set_output(g, n, o, in->dtype, in->rank, dims, d)) != ME_OK) return st;
    }
    return ME_OK;
}

static me_status split_run(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    const me_tensor *in = k->in[0];
    size_t es = me_mv_elem_size(n, in->dtype, d);
    if (!es) return ME_ERR_UNSUPPORTED;
    if (k->n_out < 1 || k->n_out > SPLIT_MAX_OUT || k->n_out != n->n_out)
        return me_fail(d, ME_ERR_INTERNAL, "node '%s' (Split): output count mismatch", n->name);
    int64_t start[SPLIT_MAX_OUT + 1];
    int axis;
    me_status st = split_plan(n, in, &axis, start, d);
    if (st != ME_OK) return st;
    int64_t dims[ME_MAX_RANK];
    for (int a = 0; a < in->rank; a++) dims[a] = in->dims[a];
    for (int o = 0; o < k->n_out; o++) {
        dims[axis] = start[o + 1] - start[o];
        if ((st = me_mv_check_out(k, o, in->rank, dims, es, d)) != ME_OK) return st;
    }

    int64_t outer = 1, inner = (int64_t)es;
    for (int a = 0; a < axis; a++) outer *= in->dims[a];
    for (int a = axis + 1; a < in->rank; a++) inner *= in->dims[a];
    if (me_tensor_numel(in) == 0) return ME_OK;
    size_t in_row = (size_t)(in->dims[axis] * inner);
    const char *src = k->in_data[0];
    for (int o = 0; o < k->n_out; o++) {
        size_t chunk = (size_t)((start[o + 1] - start[o]) * inner);
        if (!chunk) continue;
        const char *s = src + (size_t)(start[o] * inner);
        char *dst = k->out_data[o];
        for (int64_t r = 0; r < outer; r++) memcpy(dst + (size_t)r * chunk, s + (size_t)r * in_row, chunk);
    }
    return ME_OK;
}

const me_opdef me_opdef_SPLIT = {
    .name = "Split", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = SPLIT_MAX_OUT,
    .params = split_params,
    .infer = split_infer, .run = split_run,
};
