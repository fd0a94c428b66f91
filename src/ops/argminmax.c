/* Argmax / Argmin along `axis` (required), keep_dims (default 0); INT32
 * indices (QNN). Ties give the first index: an element replaces the current
 * best only when strictly greater (Argmax) / smaller (Argmin), so a NaN never
 * replaces a number (and a leading NaN is never replaced). */
#include <stdint.h>

#include "eltwise_util.h"

typedef void (*arg_fn)(const void *x, int32_t *out, int64_t outer, int64_t len, int64_t inner);

#define DEF_ARG(NAME, T, CMP)                                                                \
    static void NAME(const void *px, int32_t *out, int64_t outer, int64_t len, int64_t inner) { \
        const T *x = px;                                                                     \
        for (int64_t o = 0; o < outer; o++) {                                                \
            const T *blk = x + o * len * inner;                                              \
            int32_t *ob = out + o * inner;                                                   \
            for (int64_t j = 0; j < inner; j++) ob[j] = 0;                                   \
            for (int64_t i = 1; i < len; i++)                                                \
                for (int64_t j = 0; j < inner; j++)                                          \
                    if (blk[i * inner + j] CMP blk[(int64_t)ob[j] * inner + j]) ob[j] = (int32_t)i; \
        }                                                                                    \
    }

#define EACH_T(M) M(F32, float) M(I64, int64_t) M(I32, int32_t) M(I16, int16_t) M(I8, int8_t) \
    M(U64, uint64_t) M(U32, uint32_t) M(U16, uint16_t) M(U8, uint8_t)
#define DEF_BOTH(DT, T) DEF_ARG(argmax_##DT, T, >) DEF_ARG(argmin_##DT, T, <)
EACH_T(DEF_BOTH)
#define MAX_ENTRY(DT, T) [ME_DT_##DT] = argmax_##DT,
#define MIN_ENTRY(DT, T) [ME_DT_##DT] = argmin_##DT,
static const arg_fn tbl_max[ME_DT_COUNT] = {EACH_T(MAX_ENTRY)};
static const arg_fn tbl_min[ME_DT_COUNT] = {EACH_T(MIN_ENTRY)};

static arg_fn arg_kernel(int op, me_dtype dt) {
    if ((unsigned)dt >= ME_DT_COUNT) return NULL;
    return op == ME_OP_ARGMAX ? tbl_max[dt] : tbl_min[dt];
}

static me_status arg_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    if (!arg_kernel(n->op, x->dtype))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    if (x->rank < 1) return me_op_fail(d, ME_ERR_FORMAT, n, "input must have rank >= 1");
    int axis;
    st = me_op_axis_param(n, "axis", x->rank, -1, &axis, d);
    if (st != ME_OK) return st;
    if (x->dims[axis] == 0) return me_op_fail(d, ME_ERR_FORMAT, n, "axis %d is empty", axis);
    if (x->dims[axis] > INT32_MAX) return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "axis %d is too long for INT32 indices", axis);
    bool keep = me_param_int(n, "keep_dims", 0) != 0;
    int r = 0;
    int64_t dims[ME_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        if (i != axis) dims[r++] = x->dims[i];
        else if (keep) dims[r++] = 1;
    }
    return me_set_output(g, n, 0, ME_DT_I32, r, dims, d);
}

static me_status arg_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *x = k->in[0];
    arg_fn fn = arg_kernel(k->node->op, x->dtype);
    if (!fn) return me_fail(d, ME_ERR_UNSUPPORTED, "%s: no kernel for dtype %s", me_op_names[k->node->op], me_dtype_name(x->dtype));
    int axis;
    me_status st = me_op_axis_param(k->node, "axis", x->rank, -1, &axis, d);
    if (st != ME_OK) return st;
    int64_t outer, len, inner;
    me_axis_split(x->rank, x->dims, axis, &outer, &len, &inner);
    if (len == 0) return me_fail(d, ME_ERR_FORMAT, "%s: axis %d is empty", me_op_names[k->node->op], axis);
    fn(k->in_data[0], k->out_data[0], outer, len, inner);
    return ME_OK;
}

static const me_param_schema arg_params[] = {
    {"axis", ME_PARAM_SCALAR, ME_DT_U32, true},
    {"keep_dims", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {NULL}};

const me_opdef me_opdef_ARGMAX = {"Argmax", "qti.aisw", 1, 1, 1, 1, arg_params, arg_infer, arg_run, NULL};
const me_opdef me_opdef_ARGMIN = {"Argmin", "qti.aisw", 1, 1, 1, 1, arg_params, arg_infer, arg_run, NULL};
