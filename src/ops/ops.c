/* Op tables (from ops.def) and helpers shared by op files. */
#include "ops.h"

#include <string.h>

#include "../core/util.h"

const me_opdef *const me_opdefs[] = {
#define X(id, qnn_name, pkg, stem) &me_opdef_##id,
#include "ops.def"
#undef X
};
_Static_assert(sizeof(me_opdefs) / sizeof(me_opdefs[0]) == ME_OP_COUNT, "one definition per op");

const char *const me_op_names[] = {
#define X(id, qnn_name, pkg, stem) qnn_name,
#include "ops.def"
#undef X
};
_Static_assert(sizeof(me_op_names) / sizeof(me_op_names[0]) == ME_OP_COUNT, "one name per op");

int me_op_from_name(const char *name) {
    for (int i = 0; i < ME_OP_COUNT; i++)
        if (strcmp(me_op_names[i], name) == 0) return i;
    return -1;
}

me_status me_broadcast_shape(int ra, const int64_t *da, int rb, const int64_t *db,
                             int *rout, int64_t *dout) {
    int r = ra > rb ? ra : rb;
    for (int i = 0; i < r; i++) {
        int64_t a = i < r - ra ? 1 : da[i - (r - ra)];
        int64_t b = i < r - rb ? 1 : db[i - (r - rb)];
        if (a == b || b == 1) dout[i] = a;
        else if (a == 1) dout[i] = b;
        else return ME_ERR_FORMAT;
    }
    *rout = r;
    return ME_OK;
}

me_status me_set_output(me_graph *g, const me_node *n, int i, me_dtype dt, int rank,
                        const int64_t *dims, me_diag *d) {
    if (i >= n->n_out) return me_fail(d, ME_ERR_INTERNAL, "node '%s': no output %d", n->name, i);
    if (rank < 0 || rank > ME_MAX_RANK)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s': output rank %d exceeds %d", n->name, rank, ME_MAX_RANK);
    int64_t numel = me_shape_numel(rank, dims);
    if (numel < 0 || numel > ME_MAX_TENSOR_BYTES)
        return me_fail(d, ME_ERR_FORMAT, "node '%s': output %d has an invalid or too large shape", n->name, i);
    me_tensor *t = &g->tensors[n->out[i]];
    t->dtype = dt;
    t->rank = rank;
    for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
    if (me_tensor_nbytes(t) == 0 && numel > 0)
        return me_fail(d, ME_ERR_FORMAT, "node '%s': output %d is too large", n->name, i);
    return ME_OK;
}

bool me_dtype_is_float(me_dtype dt) {
    return dt == ME_DT_F32 || dt == ME_DT_F16 || dt == ME_DT_F64 || dt == ME_DT_BF16;
}

bool me_dtype_is_int(me_dtype dt) {
    switch (dt) {
    case ME_DT_I64: case ME_DT_I32: case ME_DT_I16: case ME_DT_I8:
    case ME_DT_U64: case ME_DT_U32: case ME_DT_U16: case ME_DT_U8: return true;
    default: return false;
    }
}

me_status me_expect_dtype(const me_graph *g, const me_node *n, int input, me_dtype dt, me_diag *d) {
    if (input >= n->n_in || n->in[input] < 0)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input %d is missing", n->name, me_op_names[n->op], input);
    me_dtype have = g->tensors[n->in[input]].dtype;
    if (have != dt)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): input %d has dtype %s, expected %s", n->name,
                       me_op_names[n->op], input, me_dtype_name(have), me_dtype_name(dt));
    return ME_OK;
}
