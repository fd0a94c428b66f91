/* Element-wise unary ops. Float math is f32 only (the frontend computes
 * f16 models in f32). ABS/SIGN take every numeric dtype (ABS of an unsigned
 * value is the value), NEG float and signed integers, NOT BOOL. Integer
 * ABS/NEG of the most negative value wraps to itself. ROUND rounds half to
 * even (ONNX). */
#include <math.h>

#include "../kernels/dispatch.h"
#include "eltwise_util.h"

typedef void (*un_row_fn)(const void *x, void *y, int64_t n);

#define DEF_UN(NAME, T, EXPR)                                   \
    static void NAME(const void *px, void *py, int64_t n) {     \
        const T *xs = px;                                       \
        T *ys = py;                                             \
        for (int64_t i = 0; i < n; i++) {                       \
            T x = xs[i];                                        \
            ys[i] = (T)(EXPR);                                  \
        }                                                       \
    }

#define EACH_SIGNED(M, OP) M(OP, I64, int64_t) M(OP, I32, int32_t) M(OP, I16, int16_t) M(OP, I8, int8_t)
#define EACH_UNSIGNED(M, OP) M(OP, U64, uint64_t) M(OP, U32, uint32_t) M(OP, U16, uint16_t) M(OP, U8, uint8_t)
#define ENTRY(OP, DT, T) [ME_DT_##DT] = un_##OP##_##DT,

/* Signed-integer expressions go through uint64_t so INT_MIN does not overflow. */
#define ABS_I(T, x) ((x) < 0 ? (T)(0 - (uint64_t)(x)) : (x))
#define NEG_I(T, x) ((T)(0 - (uint64_t)(x)))
#define SIGN_I(T, x) ((x) > 0 ? 1 : (x) < 0 ? -1 : 0)
#define SIGN_U(T, x) ((x) > 0 ? 1 : 0)
#define DEF_INT(OP, DT, T) DEF_UN(un_##OP##_##DT, T, OP##_I(T, x))
#define DEF_UINT_ABS(OP, DT, T) DEF_UN(un_##OP##_##DT, T, x)
#define DEF_UINT_SIGN(OP, DT, T) DEF_UN(un_##OP##_##DT, T, SIGN_U(T, x))

EACH_SIGNED(DEF_INT, ABS)
EACH_UNSIGNED(DEF_UINT_ABS, ABS)
DEF_UN(un_ABS_F32, float, fabsf(x))
EACH_SIGNED(DEF_INT, NEG)
DEF_UN(un_NEG_F32, float, -x)
EACH_SIGNED(DEF_INT, SIGN)
EACH_UNSIGNED(DEF_UINT_SIGN, SIGN)
DEF_UN(un_SIGN_F32, float, x > 0 ? 1.0f : x < 0 ? -1.0f : x)

static const un_row_fn tbl_abs[ME_DT_COUNT] = {[ME_DT_F32] = un_ABS_F32, EACH_SIGNED(ENTRY, ABS) EACH_UNSIGNED(ENTRY, ABS)};
static const un_row_fn tbl_neg[ME_DT_COUNT] = {[ME_DT_F32] = un_NEG_F32, EACH_SIGNED(ENTRY, NEG)};
static const un_row_fn tbl_sign[ME_DT_COUNT] = {[ME_DT_F32] = un_SIGN_F32, EACH_SIGNED(ENTRY, SIGN) EACH_UNSIGNED(ENTRY, SIGN)};

DEF_UN(un_ceil, float, ceilf(x))
DEF_UN(un_floor, float, floorf(x))
DEF_UN(un_round, float, me_round_half_even(x))
DEF_UN(un_cos, float, cosf(x))
DEF_UN(un_sin, float, sinf(x))
DEF_UN(un_exp, float, expf(x))
DEF_UN(un_log, float, logf(x))
DEF_UN(un_sqrt, float, sqrtf(x))
DEF_UN(un_rsqrt, float, 1.0f / sqrtf(x))
DEF_UN(un_reciprocal, float, 1.0f / x)
DEF_UN(un_erf, float, erff(x))
DEF_UN(un_not, uint8_t, x == 0)

#define F32_ONLY(fn) {[ME_DT_F32] = fn}
static const un_row_fn tbl_ceil[ME_DT_COUNT] = F32_ONLY(un_ceil);
static const un_row_fn tbl_floor[ME_DT_COUNT] = F32_ONLY(un_floor);
static const un_row_fn tbl_round[ME_DT_COUNT] = F32_ONLY(un_round);
static const un_row_fn tbl_cos[ME_DT_COUNT] = F32_ONLY(un_cos);
static const un_row_fn tbl_sin[ME_DT_COUNT] = F32_ONLY(un_sin);
static const un_row_fn tbl_exp[ME_DT_COUNT] = F32_ONLY(un_exp);
static const un_row_fn tbl_log[ME_DT_COUNT] = F32_ONLY(un_log);
static const un_row_fn tbl_sqrt[ME_DT_COUNT] = F32_ONLY(un_sqrt);
static const un_row_fn tbl_rsqrt[ME_DT_COUNT] = F32_ONLY(un_rsqrt);
static const un_row_fn tbl_reciprocal[ME_DT_COUNT] = F32_ONLY(un_reciprocal);
static const un_row_fn tbl_erf[ME_DT_COUNT] = F32_ONLY(un_erf);
static const un_row_fn tbl_not[ME_DT_COUNT] = {[ME_DT_BOOL] = un_not};

static un_row_fn unary_fn(int op, me_dtype dt) {
    const un_row_fn *t;
    switch (op) {
    case ME_OP_ABS: t = tbl_abs; break;
    case ME_OP_NEG: t = tbl_neg; break;
    case ME_OP_SIGN: t = tbl_sign; break;
    case ME_OP_CEIL: t = tbl_ceil; break;
    case ME_OP_FLOOR: t = tbl_floor; break;
    case ME_OP_ROUND: t = tbl_round; break;
    case ME_OP_COS: t = tbl_cos; break;
    case ME_OP_SIN: t = tbl_sin; break;
    case ME_OP_EXP: t = tbl_exp; break;
    case ME_OP_LOG: t = tbl_log; break;
    case ME_OP_SQRT: t = tbl_sqrt; break;
    case ME_OP_RSQRT: t = tbl_rsqrt; break;
    case ME_OP_RECIPROCAL: t = tbl_reciprocal; break;
    case ME_OP_ERF: t = tbl_erf; break;
    case ME_OP_NOT: t = tbl_not; break;
    default: return NULL;
    }
    return (unsigned)dt < ME_DT_COUNT ? t[dt] : NULL;
}

static me_status unary_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    if (!unary_fn(n->op, x->dtype))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    return me_set_output(g, n, 0, x->dtype, x->rank, x->dims, d);
}

static me_status unary_run(const me_kernel_ctx *k, me_diag *d) {
    un_row_fn fn = unary_fn(k->node->op, k->in[0]->dtype);
    if (!fn)
        return me_fail(d, ME_ERR_UNSUPPORTED, "%s: no kernel for dtype %s", me_op_names[k->node->op],
                       me_dtype_name(k->in[0]->dtype));
    if ((k->node->op == ME_OP_EXP || k->node->op == ME_OP_ERF) && k->in[0]->dtype == ME_DT_F32) {
        /* vector exp / erf rows (src/kernels, error bounds in unary_f32_simd.h), split over threads */
        me_unary_f32(k->pool, k->variant, k->node->op == ME_OP_EXP ? ME_UNARY_EXP : ME_UNARY_ERF, k->in_data[0],
                     k->out_data[0], me_tensor_numel(k->in[0]));
        return ME_OK;
    }
    fn(k->in_data[0], k->out_data[0], me_tensor_numel(k->in[0]));
    return ME_OK;
}

static const me_param_schema no_params[] = {{NULL}};

#define UNARY_OPDEF(ID, NAME, PKG) \
    const me_opdef me_opdef_##ID = {NAME, PKG, 1, 1, 1, 1, no_params, unary_infer, unary_run, NULL};
UNARY_OPDEF(ABS, "ElementWiseAbs", "qti.aisw")
UNARY_OPDEF(CEIL, "ElementWiseCeil", "qti.aisw")
UNARY_OPDEF(COS, "ElementWiseCos", "qti.aisw")
UNARY_OPDEF(EXP, "ElementWiseExp", "qti.aisw")
UNARY_OPDEF(FLOOR, "ElementWiseFloor", "qti.aisw")
UNARY_OPDEF(LOG, "ElementWiseLog", "qti.aisw")
UNARY_OPDEF(NEG, "ElementWiseNeg", "qti.aisw")
UNARY_OPDEF(NOT, "ElementWiseNot", "qti.aisw")
UNARY_OPDEF(ROUND, "ElementWiseRound", "qti.aisw")
UNARY_OPDEF(SIGN, "ElementWiseSign", "qti.aisw")
UNARY_OPDEF(SIN, "ElementWiseSin", "qti.aisw")
UNARY_OPDEF(SQRT, "ElementWiseSquareRoot", "qti.aisw")
UNARY_OPDEF(RSQRT, "ElementWiseRsqrt", "qti.aisw")
UNARY_OPDEF(RECIPROCAL, "ElementWiseReciprocal", "modelexport")
UNARY_OPDEF(ERF, "ElementWiseErf", "modelexport")
