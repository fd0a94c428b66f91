/* Transpose: out.shape[i] = in.shape[perm[i]] (QNN `perm`, U32 [rank]). */
#include "movement.h"

static const me_param_schema transpose_params[] = {
    {"perm", ME_PARAM_TENSOR, ME_DT_U32, true},
    {NULL},
};

/* Read and validate perm against `in`; fills perm[] and out dims. */
static me_status transpose_plan(const me_node *n, const me_tensor *in, int *perm, int64_t *out_dims,
                                me_diag *d) {
    const me_param *p = me_mv_int_tensor(n, "perm", ME_DT_U32, 1, in->rank, 0, d);
    if (!p) return ME_ERR_FORMAT;
    bool seen[ME_MAX_RANK] = {false};
    for (int i = 0; i < in->rank; i++) {
        int64_t v = p->ivals[i];
        if (v < 0 || v >= in->rank || seen[v])
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Transpose): perm is not a permutation of 0..%d",
                           n->name, in->rank - 1);
        seen[v] = true;
        perm[i] = (int)v;
        out_dims[i] = in->dims[v];
    }
    return ME_OK;
}

static me_status transpose_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *in = me_mv_input(g, n, 0, d);
    if (!in) return ME_ERR_FORMAT;
    if (!me_mv_elem_size(n, in->dtype, d)) return ME_ERR_UNSUPPORTED;
    int perm[ME_MAX_RANK];
    int64_t dims[ME_MAX_RANK];
    me_status st = transpose_plan(n, in, perm, dims, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, in->dtype, in->rank, dims, d);
}

static me_status transpose_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *in = k->in[0];
    size_t es = me_mv_elem_size(k->node, in->dtype, d);
    if (!es) return ME_ERR_UNSUPPORTED;
    int perm[ME_MAX_RANK];
    int64_t dims[ME_MAX_RANK];
    me_status st = transpose_plan(k->node, in, perm, dims, d);
    if (st == ME_OK) st = me_mv_check_out(k, 0, in->rank, dims, es, d);
    if (st != ME_OK) return st;
    me_mv_permute_copy(k->out_data[0], k->in_data[0], in->rank, in->dims, perm, es);
    return ME_OK;
}

const me_opdef me_opdef_TRANSPOSE = {
    .name = "Transpose", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .params = transpose_params,
    .infer = transpose_infer, .run = transpose_run,
};
