/* CumulativeSum along `axis` (required) with `exclusive` and `reverse`
 * (BOOL, default 0), as ONNX CumSum. Float sums run in float in scan order;
 * integer sums wrap. The previous output slice is the running sum, so no
 * scratch is needed. */
#include <string.h>

#include "eltwise_util.h"

typedef void (*cumsum_fn)(const void *x, void *y, int64_t outer, int64_t len, int64_t inner, bool exclusive,
                          bool reverse);

#define ADD_F(T, a, b) ((a) + (b))
#define ADD_I(T, a, b) ((T)((uint64_t)(a) + (uint64_t)(b)))

#define DEF_CUMSUM(NAME, T, ADD)                                                                 \
    static void NAME(const void *px, void *py, int64_t outer, int64_t len, int64_t inner, bool exclusive, \
                     bool reverse) {                                                             \
        const T *x = px;                                                                         \
        T *y = py;                                                                               \
        for (int64_t o = 0; o < outer; o++) {                                                    \
            const T *xb = x + o * len * inner;                                                   \
            T *yb = y + o * len * inner;                                                         \
            for (int64_t s = 0; s < len; s++) {                                                  \
                int64_t i = reverse ? len - 1 - s : s, prev = reverse ? i + 1 : i - 1;           \
                T *yi = yb + i * inner;                                                          \
                const T *xi = xb + i * inner;                                                    \
                if (s == 0) {                                                                    \
                    for (int64_t j = 0; j < inner; j++) yi[j] = exclusive ? (T)0 : xi[j];         \
                } else {                                                                         \
                    const T *yp = yb + prev * inner;                                             \
                    const T *add = exclusive ? xb + prev * inner : xi;                           \
                    for (int64_t j = 0; j < inner; j++) yi[j] = ADD(T, yp[j], add[j]);            \
                }                                                                                \
            }                                                                                    \
        }                                                                                        \
    }

DEF_CUMSUM(cumsum_f32, float, ADD_F)
DEF_CUMSUM(cumsum_i64, int64_t, ADD_I)
DEF_CUMSUM(cumsum_i32, int32_t, ADD_I)
DEF_CUMSUM(cumsum_u64, uint64_t, ADD_I)
DEF_CUMSUM(cumsum_u32, uint32_t, ADD_I)

static const cumsum_fn tbl_cumsum[ME_DT_COUNT] = {
    [ME_DT_F32] = cumsum_f32, [ME_DT_I64] = cumsum_i64, [ME_DT_I32] = cumsum_i32,
    [ME_DT_U64] = cumsum_u64, [ME_DT_U32] = cumsum_u32,
};

static me_status cumsum_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    if ((unsigned)x->dtype >= ME_DT_COUNT || !tbl_cumsum[x->dtype])
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    if (x->rank < 1) return me_op_fail(d, ME_ERR_FORMAT, n, "input must have rank >= 1");
    int axis;
    st = me_op_axis_param(n, "axis", x->rank, -1, &axis, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, x->dtype, x->rank, x->dims, d);
}

static me_status cumsum_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *x = k->in[0];
    cumsum_fn fn = (unsigned)x->dtype < ME_DT_COUNT ? tbl_cumsum[x->dtype] : NULL;
    if (!fn) return me_fail(d, ME_ERR_UNSUPPORTED, "CumulativeSum: no kernel for dtype %s", me_dtype_name(x->dtype));
    int axis;
    me_status st = me_op_axis_param(k->node, "axis", x->rank, -1, &axis, d);
    if (st != ME_OK) return st;
    int64_t outer, len, inner;
    me_axis_split(x->rank, x->dims, axis, &outer, &len, &inner);
    fn(k->in_data[0], k->out_data[0], outer, len, inner, me_param_int(k->node, "exclusive", 0) != 0,
       me_param_int(k->node, "reverse", 0) != 0);
    return ME_OK;
}

static const me_param_schema cumsum_params[] = {
    {"axis", ME_PARAM_SCALAR, ME_DT_U32, true},
    {"exclusive", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {"reverse", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {NULL}};

const me_opdef me_opdef_CUMSUM = {"CumulativeSum", "qti.aisw", 1, 1, 1, 1, cumsum_params, cumsum_infer, cumsum_run, NULL};
