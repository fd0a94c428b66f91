/* ReduceMax/Min/Mean/Sum/Prod/SumSquare over the axes in `axes` (U32[M]),
 * keep_dims (default 0) keeps them as size 1. M == 0 reduces nothing (each
 * output element reduces a single input element, so SumSquare squares).
 *
 * Empty reductions give the identity: Sum 0, Prod 1, Max -inf / the type's
 * lowest, Min +inf / highest, Mean 0/0 = NaN for floats and 0 for integers.
 * Float Max/Min propagate NaN (numpy). Float sums accumulate in float in
 * input order (as ORT). Integer sums and products wrap; integer Mean
 * truncates toward zero.
 *
 * Kernel: the iteration space is the input shape; the keep-dims output is
 * "broadcast" against it (stride 0 on reduced axes), so the broadcast planner
 * merges dims and each visited row either folds into one accumulator
 * (reduced inner dim) or updates a row of accumulators. */
#include <math.h>
#include <string.h>

#include "eltwise_util.h"

typedef void (*red_row_fn)(const void *x, void *acc, int64_t acc_stride, int64_t n);

#define DEF_RED_ROW(NAME, T, ACC, STEP)                                                    \
    static void NAME(const void *px, void *pa, int64_t as, int64_t n) {                    \
        const T *xs = px;                                                                  \
        T *acc = pa;                                                                       \
        if (as == 0) {                                                                     \
            ACC a = acc[0];                                                                \
            for (int64_t i = 0; i < n; i++) { T x = xs[i]; a = STEP(T, a, x); }             \
            acc[0] = (T)a;                                                                 \
        } else {                                                                           \
            for (int64_t i = 0; i < n; i++) { T x = xs[i]; acc[i] = (T)STEP(T, acc[i], x); } \
        }                                                                                  \
    }

#define SUM_F(T, a, x) ((a) + (x))
#define SUM_I(T, a, x) ((T)((uint64_t)(a) + (uint64_t)(x)))
#define SSQ_F(T, a, x) ((a) + (x) * (x))
#define SSQ_I(T, a, x) ((T)((uint64_t)(a) + (uint64_t)(x) * (uint64_t)(x)))
#define PROD_F(T, a, x) ((a) * (x))
#define PROD_I(T, a, x) ((T)((uint64_t)(a) * (uint64_t)(x)))
#define MAX_F(T, a, x) (((x) > (a) || isnan(x)) && !isnan(a) ? (x) : (a))
#define MAX_I(T, a, x) ((x) > (a) ? (x) : (a))
#define MIN_F(T, a, x) (((x) < (a) || isnan(x)) && !isnan(a) ? (x) : (a))
#define MIN_I(T, a, x) ((x) < (a) ? (x) : (a))

#define ARITH_TYPES(M, OP) M(OP, F32, float, F) M(OP, I64, int64_t, I) M(OP, I32, int32_t, I) \
    M(OP, U64, uint64_t, I) M(OP, U32, uint32_t, I)
#define CMP_TYPES(M, OP) ARITH_TYPES(M, OP) M(OP, I16, int16_t, I) M(OP, I8, int8_t, I) \
    M(OP, U16, uint16_t, I) M(OP, U8, uint8_t, I) M(OP, BOOL, uint8_t, I)
#define DEF_ROW_M(OP, DT, T, K) DEF_RED_ROW(red_##OP##_##DT, T, T, OP##_##K)
#define ENTRY(OP, DT, T, K) [ME_DT_##DT] = red_##OP##_##DT,

ARITH_TYPES(DEF_ROW_M, SUM)
ARITH_TYPES(DEF_ROW_M, SSQ)
ARITH_TYPES(DEF_ROW_M, PROD)
CMP_TYPES(DEF_ROW_M, MAX)
CMP_TYPES(DEF_ROW_M, MIN)
static const red_row_fn tbl_sum[ME_DT_COUNT] = {ARITH_TYPES(ENTRY, SUM)};
static const red_row_fn tbl_ssq[ME_DT_COUNT] = {ARITH_TYPES(ENTRY, SSQ)};
static const red_row_fn tbl_prod[ME_DT_COUNT] = {ARITH_TYPES(ENTRY, PROD)};
static const red_row_fn tbl_max[ME_DT_COUNT] = {CMP_TYPES(ENTRY, MAX)};
static const red_row_fn tbl_min[ME_DT_COUNT] = {CMP_TYPES(ENTRY, MIN)};

static red_row_fn reduce_fn(int op, me_dtype dt) {
    if ((unsigned)dt >= ME_DT_COUNT) return NULL;
    switch (op) {
    case ME_OP_REDUCE_SUM: case ME_OP_REDUCE_MEAN: return tbl_sum[dt];
    case ME_OP_REDUCE_SUM_SQUARE: return tbl_ssq[dt];
    case ME_OP_REDUCE_PROD: return tbl_prod[dt];
    case ME_OP_REDUCE_MAX: return tbl_max[dt];
    case ME_OP_REDUCE_MIN: return tbl_min[dt];
    default: return NULL;
    }
}

/* Reduced-axis mask from the `axes` param (validated). */
static me_status reduce_axes(const me_node *n, int rank, bool *reduced, me_diag *d) {
    const me_param *p = me_node_param(n, "axes");
    if (!p || p->kind != ME_PARAM_TENSOR || p->dtype != ME_DT_U32)
        return me_op_fail(d, ME_ERR_FORMAT, n, "param 'axes' must be a U32 tensor");
    if (p->rank != 1) return me_op_fail(d, ME_ERR_FORMAT, n, "param 'axes' must have rank 1");
    for (int i = 0; i < rank; i++) reduced[i] = false;
    for (int64_t i = 0; i < p->count; i++) {
        int64_t a = p->ivals[i];
        if (a < 0 || a >= rank)
            return me_op_fail(d, ME_ERR_FORMAT, n, "axis %lld is out of range for rank %d", (long long)a, rank);
        if (reduced[a]) return me_op_fail(d, ME_ERR_FORMAT, n, "axis %lld is listed twice", (long long)a);
        reduced[a] = true;
    }
    return ME_OK;
}

static me_status reduce_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    if (!reduce_fn(n->op, x->dtype))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    bool reduced[ME_MAX_RANK];
    st = reduce_axes(n, x->rank, reduced, d);
    if (st != ME_OK) return st;
    bool keep = me_param_int(n, "keep_dims", 0) != 0;
    int r = 0;
    int64_t dims[ME_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        if (!reduced[i]) dims[r++] = x->dims[i];
        else if (keep) dims[r++] = 1;
    }
    return me_set_output(g, n, 0, x->dtype, r, dims, d);
}

/* Fill n elements of size es with the little-endian low bytes of v. */
static void fill_bits(void *p, size_t es, int64_t n, uint64_t v) {
    uint8_t *b = p;
    for (int64_t i = 0; i < n; i++) memcpy(b + (size_t)i * es, &v, es);
}

static void fill_identity(int op, me_dtype dt, void *out, int64_t n) {
    if (dt == ME_DT_F32) {
        float v = op == ME_OP_REDUCE_PROD ? 1.0f : op == ME_OP_REDUCE_MAX ? -INFINITY : op == ME_OP_REDUCE_MIN ? INFINITY : 0.0f;
        float *o = out;
        for (int64_t i = 0; i < n; i++) o[i] = v;
        return;
    }
    uint64_t v = 0;
    if (op == ME_OP_REDUCE_PROD) v = 1;
    else if (op == ME_OP_REDUCE_MAX) v = (uint64_t)me_dtype_int_min(dt);
    else if (op == ME_OP_REDUCE_MIN) v = me_dtype_int_max(dt);
    fill_bits(out, me_dtype_size(dt), n, v);
}

#define MEAN_INT(T, WIDE)                                                              \
    do {                                                                               \
        T *o = out;                                                                    \
        for (int64_t i = 0; i < n; i++) o[i] = count ? (T)((WIDE)o[i] / (WIDE)count) : 0; \
    } while (0)

static void finish_mean(me_dtype dt, void *out, int64_t n, int64_t count) {
    switch (dt) {
    case ME_DT_F32: {
        float *o = out;
        for (int64_t i = 0; i < n; i++) o[i] = o[i] / (float)count;
        break;
    }
    case ME_DT_I64: MEAN_INT(int64_t, int64_t); break;
    case ME_DT_I32: MEAN_INT(int32_t, int64_t); break;
    case ME_DT_U64: MEAN_INT(uint64_t, uint64_t); break;
    case ME_DT_U32: MEAN_INT(uint32_t, uint64_t); break;
    default: break;
    }
}

static me_status reduce_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *x = k->in[0];
    int op = k->node->op;
    red_row_fn fn = reduce_fn(op, x->dtype);
    if (!fn) return me_fail(d, ME_ERR_UNSUPPORTED, "%s: no kernel for dtype %s", me_op_names[op], me_dtype_name(x->dtype));
    bool reduced[ME_MAX_RANK];
    me_status st = reduce_axes(k->node, x->rank, reduced, d);
    if (st != ME_OK) return st;

    int64_t kd[ME_MAX_RANK], count = 1;
    for (int i = 0; i < x->rank; i++) {
        kd[i] = reduced[i] ? 1 : x->dims[i];
        if (reduced[i]) count *= x->dims[i];
    }
    int64_t n_out = me_tensor_numel(k->out[0]);
    fill_identity(op, x->dtype, k->out_data[0], n_out);

    const int64_t *kdp = kd;
    me_bcast b;
    me_bcast_plan(&b, 1, &x->rank, &kdp, x->rank, x->dims);
    me_bcast_it it;
    me_bcast_begin(&b, &it);
    size_t es = me_dtype_size(x->dtype);
    const uint8_t *px = k->in_data[0];
    uint8_t *po = k->out_data[0];
    for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&b, &it))
        fn(px + (size_t)it.out_off * es, po + (size_t)it.off[0] * es, b.inner[0], b.row_len);
    if (op == ME_OP_REDUCE_MEAN) finish_mean(x->dtype, k->out_data[0], n_out, count);
    return ME_OK;
}

static const me_param_schema reduce_params[] = {
    {"axes", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"keep_dims", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {NULL}};

#define REDUCE_OPDEF(ID, NAME) \
    const me_opdef me_opdef_##ID = {NAME, "qti.aisw", 1, 1, 1, 1, reduce_params, reduce_infer, reduce_run, NULL};
REDUCE_OPDEF(REDUCE_MAX, "ReduceMax")
REDUCE_OPDEF(REDUCE_MIN, "ReduceMin")
REDUCE_OPDEF(REDUCE_MEAN, "ReduceMean")
REDUCE_OPDEF(REDUCE_SUM, "ReduceSum")
REDUCE_OPDEF(REDUCE_PROD, "ReduceProd")
REDUCE_OPDEF(REDUCE_SUM_SQUARE, "ReduceSumSquare")
