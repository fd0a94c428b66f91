/* Reshape: same elements, new dims. QNN takes no shape param: the dims the
 * graph builder declared on the output tensor define the result, and
 * inference only checks that the element counts agree. */
#include <string.h>

#include "movement.h"

static const me_param_schema reshape_params[] = {{NULL}};

static me_status reshape_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *in = me_mv_input(g, n, 0, d);
    if (!in) return ME_ERR_FORMAT;
    const me_tensor *out = &g->tensors[n->out[0]];
    int rank = out->rank;
    if (rank < 0 || rank > ME_MAX_RANK)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Reshape): output rank %d is invalid", n->name, rank);
    int64_t dims[ME_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        if (out->dims[i] < 0)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Reshape): output dim %d is %lld; the output shape must be set",
                           n->name, i, (long long)out->dims[i]);
        dims[i] = out->dims[i];
    }
    int64_t n_in = me_tensor_numel(in), n_out = me_shape_numel(rank, dims);
    if (n_in < 0 || n_out < 0 || n_in != n_out)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Reshape): input has %lld elements, output shape %lld",
                       n->name, (long long)n_in, (long long)n_out);
    if (in->dtype == ME_DT_UNDEFINED || (unsigned)in->dtype >= ME_DT_COUNT)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Reshape): input has no dtype", n->name);
    return me_set_output(g, n, 0, in->dtype, rank, dims, d);
}

static me_status reshape_run(const me_kernel_ctx *k, me_diag *d) {
    size_t nb = me_tensor_nbytes(k->in[0]);
    if (k->out[0]->dtype != k->in[0]->dtype || me_tensor_nbytes(k->out[0]) != nb)
        return me_fail(d, ME_ERR_INTERNAL, "node '%s' (Reshape): input and output sizes differ", k->node->name);
    if (k->in_data[0] != k->out_data[0] && nb) memcpy(k->out_data[0], k->in_data[0], nb);
    return ME_OK;
}

const me_opdef me_opdef_RESHAPE = {
    .name = "Reshape", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .params = reshape_params,
    .infer = reshape_infer, .run = reshape_run,
};
