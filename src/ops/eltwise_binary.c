/* Element-wise binary ops with numpy broadcasting: arithmetic, comparisons
 * (BOOL output) and logical ops on BOOL.
 *
 * Integer semantics: + - * wrap (computed in uint64_t: signed overflow is
 * undefined in C); DIVIDE truncates toward zero; MOD takes the sign of the
 * divisor (ONNX Mod fmod=0, Python), FMOD the sign of the dividend (C %).
 * INT_MIN / -1 wraps to INT_MIN. A zero integer divisor is a data error.
 * Float MAXIMUM/MINIMUM propagate NaN (numpy/ONNX). POWER allows an exponent
 * of any numeric dtype; the result has the base's dtype. */
#include <math.h>
#include <string.h>

#include "../kernels/dispatch.h"
#include "eltwise_util.h"

/* One row: o[i] = f(a[i*sa], b[i*sb]) with sa, sb in {0, 1}. */
typedef void (*bin_row_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *o, int64_t n);

/* The four stride cases are separate loops so each one vectorises. */
#define DEF_ROW(NAME, TI, TO, EXPR)                                                            \
    static void NAME(const void *pa, int64_t sa, const void *pb, int64_t sb, void *po, int64_t n) { \
        const TI *a = pa, *b = pb;                                                             \
        TO *o = po;                                                                            \
        if (sa && sb) {                                                                        \
            for (int64_t i = 0; i < n; i++) { TI x = a[i], y = b[i]; o[i] = (TO)(EXPR); }       \
        } else if (sa) {                                                                       \
            TI y = b[0];                                                                       \
            for (int64_t i = 0; i < n; i++) { TI x = a[i]; o[i] = (TO)(EXPR); }                 \
        } else if (sb) {                                                                       \
            TI x = a[0];                                                                       \
            for (int64_t i = 0; i < n; i++) { TI y = b[i]; o[i] = (TO)(EXPR); }                 \
        } else {                                                                               \
            TI x = a[0], y = b[0];                                                             \
            TO v = (TO)(EXPR);                                                                 \
            for (int64_t i = 0; i < n; i++) o[i] = v;                                          \
        }                                                                                      \
    }

/* Element expressions, by dtype class: F float, S signed, U unsigned. */
#define WRAP(T, e) ((T)(uint64_t)(e))
#define ADD_F(T, x, y) ((x) + (y))
#define ADD_S(T, x, y) WRAP(T, (uint64_t)(x) + (uint64_t)(y))
#define ADD_U ADD_S
#define SUB_F(T, x, y) ((x) - (y))
#define SUB_S(T, x, y) WRAP(T, (uint64_t)(x) - (uint64_t)(y))
#define SUB_U SUB_S
#define MUL_F(T, x, y) ((x) * (y))
#define MUL_S(T, x, y) WRAP(T, (uint64_t)(x) * (uint64_t)(y))
#define MUL_U MUL_S
#define DIV_F(T, x, y) ((x) / (y))
#define DIV_S(T, x, y) ((y) == -1 ? WRAP(T, 0 - (uint64_t)(x)) : (T)((x) / (y)))
#define DIV_U(T, x, y) ((T)((x) / (y)))
#define MAX_F(T, x, y) (isnan(x) ? (x) : isnan(y) ? (y) : (x) > (y) ? (x) : (y))
#define MAX_S(T, x, y) ((x) > (y) ? (x) : (y))
#define MAX_U MAX_S
#define MIN_F(T, x, y) (isnan(x) ? (x) : isnan(y) ? (y) : (x) < (y) ? (x) : (y))
#define MIN_S(T, x, y) ((x) < (y) ? (x) : (y))
#define MIN_U MIN_S
#define MOD_F(T, x, y) py_fmodf(x, y)
#define MOD_S(T, x, y) ((y) == -1 ? (T)0 : py_mod_##T(x, y))
#define MOD_U(T, x, y) ((T)((x) % (y)))
#define FMOD_F(T, x, y) fmodf(x, y)
#define FMOD_S(T, x, y) ((y) == -1 ? (T)0 : (T)((x) % (y)))
#define FMOD_U MOD_U

static inline float py_fmodf(float x, float y) {
    float r = fmodf(x, y);
    if (r != 0.0f && ((r < 0.0f) != (y < 0.0f))) r += y;
    return r;
}
#define DEF_PY_MOD(T)                                                  \
    static inline T py_mod_##T(T x, T y) {                             \
        T r = (T)(x % y);                                              \
        if (r != 0 && ((r < 0) != (y < 0))) r = (T)(r + y);            \
        return r;                                                      \
    }
DEF_PY_MOD(int64_t)
DEF_PY_MOD(int32_t)
DEF_PY_MOD(int16_t)
DEF_PY_MOD(int8_t)

#define EACH_NUM(M, OP)                                                                        \
    M(OP, F32, float, F) M(OP, I64, int64_t, S) M(OP, I32, int32_t, S) M(OP, I16, int16_t, S)  \
    M(OP, I8, int8_t, S) M(OP, U64, uint64_t, U) M(OP, U32, uint32_t, U)                       \
    M(OP, U16, uint16_t, U) M(OP, U8, uint8_t, U)

#define DEF_ARITH(OP, DT, T, K) DEF_ROW(row_##OP##_##DT, T, T, OP##_##K(T, x, y))
#define TBL_ENTRY(OP, DT, T, K) [ME_DT_##DT] = row_##OP##_##DT,
#define ARITH_OP(OP)                 \
    EACH_NUM(DEF_ARITH, OP)          \
    static const bin_row_fn tbl_##OP[ME_DT_COUNT] = {EACH_NUM(TBL_ENTRY, OP)};

ARITH_OP(ADD)
ARITH_OP(SUB)
ARITH_OP(MUL)
ARITH_OP(DIV)
ARITH_OP(MAX)
ARITH_OP(MIN)
ARITH_OP(MOD)
ARITH_OP(FMOD)

/* Comparisons: BOOL out; BOOL inputs compare as 0/1. */
#define EACH_CMP(M, OP) EACH_NUM(M, OP) M(OP, BOOL, uint8_t, B)
#define NORM_B(x) ((x) != 0)
#define NORM_F(x) (x)
#define NORM_S(x) (x)
#define NORM_U(x) (x)
#define EQ_E(x, y) ((x) == (y))
#define NE_E(x, y) ((x) != (y))
#define GT_E(x, y) ((x) > (y))
#define GE_E(x, y) ((x) >= (y))
#define LT_E(x, y) ((x) < (y))
#define LE_E(x, y) ((x) <= (y))
#define DEF_CMP(OP, DT, T, K) DEF_ROW(row_##OP##_##DT, T, uint8_t, OP##_E(NORM_##K(x), NORM_##K(y)))
#define CMP_OP(OP)                \
    EACH_CMP(DEF_CMP, OP)         \
    static const bin_row_fn tbl_##OP[ME_DT_COUNT] = {EACH_CMP(TBL_ENTRY, OP)};

CMP_OP(EQ)
CMP_OP(NE)
CMP_OP(GT)
CMP_OP(GE)
CMP_OP(LT)
CMP_OP(LE)

DEF_ROW(row_AND_BOOL, uint8_t, uint8_t, (x != 0) & (y != 0))
DEF_ROW(row_OR_BOOL, uint8_t, uint8_t, (x != 0) | (y != 0))
DEF_ROW(row_XOR_BOOL, uint8_t, uint8_t, (x != 0) ^ (y != 0))
static const bin_row_fn tbl_AND[ME_DT_COUNT] = {[ME_DT_BOOL] = row_AND_BOOL};
static const bin_row_fn tbl_OR[ME_DT_COUNT] = {[ME_DT_BOOL] = row_OR_BOOL};
static const bin_row_fn tbl_XOR[ME_DT_COUNT] = {[ME_DT_BOOL] = row_XOR_BOOL};

/* POWER, float base with float exponent: the common case gets a typed row. */
DEF_ROW(row_POW_F32, float, float, powf(x, y))

static const bin_row_fn *op_table(int op) {
    switch (op) {
    case ME_OP_ADD: return tbl_ADD;
    case ME_OP_SUBTRACT: return tbl_SUB;
    case ME_OP_MULTIPLY: return tbl_MUL;
    case ME_OP_DIVIDE: return tbl_DIV;
    case ME_OP_MAXIMUM: return tbl_MAX;
    case ME_OP_MINIMUM: return tbl_MIN;
    case ME_OP_MOD: return tbl_MOD;
    case ME_OP_FMOD: return tbl_FMOD;
    case ME_OP_EQUAL: return tbl_EQ;
    case ME_OP_NOT_EQUAL: return tbl_NE;
    case ME_OP_GREATER: return tbl_GT;
    case ME_OP_GREATER_EQUAL: return tbl_GE;
    case ME_OP_LESS: return tbl_LT;
    case ME_OP_LESS_EQUAL: return tbl_LE;
    case ME_OP_AND: return tbl_AND;
    case ME_OP_OR: return tbl_OR;
    case ME_OP_XOR: return tbl_XOR;
    default: return NULL;
    }
}

static bool is_compare(int op) {
    return op == ME_OP_EQUAL || op == ME_OP_NOT_EQUAL || op == ME_OP_GREATER || op == ME_OP_GREATER_EQUAL ||
           op == ME_OP_LESS || op == ME_OP_LESS_EQUAL;
}

static bool is_numeric(me_dtype dt) { return dt == ME_DT_F32 || me_dtype_is_int(dt); }

/* ---- POWER with mixed dtypes: per element through wide values ---- */
static double load_f64(const void *p, me_dtype dt, int64_t i) {
    switch (dt) {
    case ME_DT_F32: return ((const float *)p)[i];
    case ME_DT_I64: return (double)((const int64_t *)p)[i];
    case ME_DT_I32: return ((const int32_t *)p)[i];
    case ME_DT_I16: return ((const int16_t *)p)[i];
    case ME_DT_I8: return ((const int8_t *)p)[i];
    case ME_DT_U64: return (double)((const uint64_t *)p)[i];
    case ME_DT_U32: return ((const uint32_t *)p)[i];
    case ME_DT_U16: return ((const uint16_t *)p)[i];
    case ME_DT_U8: return ((const uint8_t *)p)[i];
    default: return 0.0;
    }
}

/* Integer exponent as (negative?, magnitude). */
static void load_exp(const void *p, me_dtype dt, int64_t i, bool *neg, uint64_t *mag) {
    if (dt == ME_DT_U64) { *neg = false; *mag = ((const uint64_t *)p)[i]; return; }
    int64_t v;
    switch (dt) {
    case ME_DT_I64: v = ((const int64_t *)p)[i]; break;
    case ME_DT_I32: v = ((const int32_t *)p)[i]; break;
    case ME_DT_I16: v = ((const int16_t *)p)[i]; break;
    case ME_DT_I8: v = ((const int8_t *)p)[i]; break;
    case ME_DT_U32: v = ((const uint32_t *)p)[i]; break;
    case ME_DT_U16: v = ((const uint16_t *)p)[i]; break;
    case ME_DT_U8: v = ((const uint8_t *)p)[i]; break;
    default: v = 0; break;
    }
    *neg = v < 0;
    *mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
}

static int64_t load_i64(const void *p, me_dtype dt, int64_t i) {
    switch (dt) {
    case ME_DT_I64: return ((const int64_t *)p)[i];
    case ME_DT_I32: return ((const int32_t *)p)[i];
    case ME_DT_I16: return ((const int16_t *)p)[i];
    case ME_DT_I8: return ((const int8_t *)p)[i];
    case ME_DT_U64: return (int64_t)((const uint64_t *)p)[i];
    case ME_DT_U32: return ((const uint32_t *)p)[i];
    case ME_DT_U16: return ((const uint16_t *)p)[i];
    case ME_DT_U8: return ((const uint8_t *)p)[i];
    default: return 0;
    }
}

/* Stores the low bits (wrapping), like a C cast to the narrower type. */
static void store_int(void *p, me_dtype dt, int64_t i, uint64_t v) {
    switch (dt) {
    case ME_DT_I64: case ME_DT_U64: ((uint64_t *)p)[i] = v; break;
    case ME_DT_I32: case ME_DT_U32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case ME_DT_I16: case ME_DT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case ME_DT_I8: case ME_DT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    default: break;
    }
}

/* base^e by squaring, wrapping modulo 2^64 (then truncated to the dtype). A
 * negative exponent gives 0 except for bases 1 and -1 (and 0: 0, as there is
 * no integer infinity). */
static uint64_t int_pow(int64_t base, bool neg, uint64_t e) {
    if (neg) {
        if (base == 1) return 1;
        if (base == -1) return (e & 1) ? (uint64_t)-1 : 1;
        return 0;
    }
    uint64_t r = 1, b = (uint64_t)base;
    while (e) {
        if (e & 1) r *= b;
        b *= b;
        e >>= 1;
    }
    return r;
}

static void pow_row_mixed(me_dtype bt, me_dtype et, const void *a, int64_t ao, int64_t sa, const void *b,
                          int64_t bo, int64_t sb, void *o, int64_t oo, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        int64_t ia = ao + i * sa, ib = bo + i * sb, io = oo + i;
        if (bt == ME_DT_F32) {
            ((float *)o)[io] = powf(((const float *)a)[ia], (float)load_f64(b, et, ib));
        } else if (et == ME_DT_F32) {
            double r = pow(load_f64(a, bt, ia), ((const float *)b)[ib]);
            if (bt == ME_DT_U64) store_int(o, bt, io, me_sat_f64_u64(r, UINT64_MAX));
            else if (me_dtype_is_unsigned_int(bt)) store_int(o, bt, io, me_sat_f64_u64(r, me_dtype_int_max(bt)));
            else store_int(o, bt, io, (uint64_t)me_sat_f64_i64(r, me_dtype_int_min(bt), (int64_t)me_dtype_int_max(bt)));
        } else {
            bool neg;
            uint64_t mag;
            load_exp(b, et, ib, &neg, &mag);
            store_int(o, bt, io, int_pow(load_i64(a, bt, ia), neg, mag));
        }
    }
}

/* ---- infer ---- */
static me_status binary_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 2, d);
    if (st != ME_OK) return st;
    const me_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
    int op = n->op;
    if (op == ME_OP_POWER) {
        if (!is_numeric(a->dtype) || !is_numeric(b->dtype))
            return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtypes %s and %s", me_dtype_name(a->dtype),
                              me_dtype_name(b->dtype));
    } else {
        if (a->dtype != b->dtype)
            return me_op_fail(d, ME_ERR_FORMAT, n, "inputs have different dtypes %s and %s", me_dtype_name(a->dtype),
                              me_dtype_name(b->dtype));
        const bin_row_fn *tbl = op_table(op);
        if (!tbl || (unsigned)a->dtype >= ME_DT_COUNT || !tbl[a->dtype])
            return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(a->dtype));
    }
    int r;
    int64_t dims[ME_MAX_RANK];
    if (me_broadcast_shape(a->rank, a->dims, b->rank, b->dims, &r, dims) != ME_OK) {
        char sa[ME_SHAPE_STR_MAX], sb[ME_SHAPE_STR_MAX];
        return me_op_fail(d, ME_ERR_FORMAT, n, "input shapes %s and %s do not broadcast",
                          me_shape_str(sa, a->rank, a->dims), me_shape_str(sb, b->rank, b->dims));
    }
    me_dtype out = is_compare(op) ? ME_DT_BOOL : a->dtype;
    return me_set_output(g, n, 0, out, r, dims, d);
}

/* ---- kernel ---- */
static bool has_zero(const me_tensor *t, const void *data) {
    int64_t count = me_tensor_numel(t);
    size_t es = me_dtype_size(t->dtype);
    const uint8_t *p = data;
    for (int64_t i = 0; i < count; i++) {
        uint64_t v = 0;
        memcpy(&v, p + (size_t)i * es, es);
        if (v == 0) return true;
    }
    return false;
}

/* Float add/multiply over broadcast rows [begin, end), each row one call. */
enum { F32_ROW_PAR_MIN = 1 << 15 };
typedef struct f32_rows_job {
    const me_bcast *b;
    me_binary_f32_row_fn fn;
    const float *a, *bb;
    float *o;
} f32_rows_job;

static void f32_rows_chunk(void *v, int64_t begin, int64_t end) {
    const f32_rows_job *j = v;
    const me_bcast *b = j->b;
    me_bcast_it it;
    me_bcast_seek(b, &it, begin);
    for (int64_t r = begin; r < end; r++, me_bcast_step(b, &it))
        j->fn(j->a + it.off[0], b->inner[0], j->bb + it.off[1], b->inner[1], j->o + it.out_off, b->row_len);
}

static me_status binary_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *ta = k->in[0], *tb = k->in[1];
    int op = k->node->op;
    me_bcast b;
    me_bcast_plan_ctx(&b, k, 2);
    if (b.numel == 0) return ME_OK;

    bool int_div = (op == ME_OP_DIVIDE || op == ME_OP_MOD || op == ME_OP_FMOD) && me_dtype_is_int(tb->dtype);
    /* Every divisor element is used when the output is non-empty. */
    if (int_div && has_zero(tb, k->in_data[1]))
        return me_fail(d, ME_ERR_FORMAT, "division by zero in node '%s' (%s)", k->node->name, me_op_names[op]);

    me_bcast_it it;
    me_bcast_begin(&b, &it);
    if (op == ME_OP_POWER && !(ta->dtype == ME_DT_F32 && tb->dtype == ME_DT_F32)) {
        for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&b, &it))
            pow_row_mixed(ta->dtype, tb->dtype, k->in_data[0], it.off[0], b.inner[0], k->in_data[1], it.off[1],
                          b.inner[1], k->out_data[0], it.out_off, b.row_len);
        return ME_OK;
    }
    if (ta->dtype == ME_DT_F32 && (op == ME_OP_ADD || op == ME_OP_MULTIPLY)) {
        /* SIMD variants split over threads (src/kernels); exact like the rows above */
        const float *fa = k->in_data[0], *fb = k->in_data[1];
        float *fo = k->out_data[0];
        if (it.rows > 1 && b.row_len < F32_ROW_PAR_MIN && b.numel >= F32_ROW_PAR_MIN) {
            /* many short rows (a per-channel scale over an image): threads over rows */
            const me_eltwise_f32_kernel *ek = k->variant ? k->variant : me_eltwise_f32_select();
            f32_rows_job j = {&b, op == ME_OP_ADD ? ek->add : ek->mul, fa, fb, fo};
            me_parallel_for(k->pool, it.rows, 1, f32_rows_chunk, &j);
            return ME_OK;
        }
        for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&b, &it))
            (op == ME_OP_ADD ? me_add_f32 : me_mul_f32)(k->pool, k->variant, fa + it.off[0], b.inner[0], fb + it.off[1],
                                                        b.inner[1], fo + it.out_off, b.row_len);
        return ME_OK;
    }
    bin_row_fn fn = op == ME_OP_POWER ? row_POW_F32 : NULL;
    if (!fn) {
        const bin_row_fn *tbl = op_table(op);
        fn = tbl && (unsigned)ta->dtype < ME_DT_COUNT ? tbl[ta->dtype] : NULL;
    }
    if (!fn) return me_fail(d, ME_ERR_UNSUPPORTED, "%s: no kernel for dtype %s", me_op_names[op], me_dtype_name(ta->dtype));
    size_t ea = me_dtype_size(ta->dtype), eb = me_dtype_size(tb->dtype), eo = me_dtype_size(k->out[0]->dtype);
    const uint8_t *pa = k->in_data[0], *pb = k->in_data[1];
    uint8_t *po = k->out_data[0];
    for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&b, &it))
        fn(pa + (size_t)it.off[0] * ea, b.inner[0], pb + (size_t)it.off[1] * eb, b.inner[1],
           po + (size_t)it.out_off * eo, b.row_len);
    return ME_OK;
}

static const me_param_schema no_params[] = {{NULL}};

#define BINARY_OPDEF(ID, NAME) \
    const me_opdef me_opdef_##ID = {NAME, "qti.aisw", 2, 2, 1, 1, no_params, binary_infer, binary_run, NULL};
BINARY_OPDEF(ADD, "ElementWiseAdd")
BINARY_OPDEF(SUBTRACT, "ElementWiseSubtract")
BINARY_OPDEF(MULTIPLY, "ElementWiseMultiply")
BINARY_OPDEF(DIVIDE, "ElementWiseDivide")
BINARY_OPDEF(POWER, "ElementWisePower")
BINARY_OPDEF(MAXIMUM, "ElementWiseMaximum")
BINARY_OPDEF(MINIMUM, "ElementWiseMinimum")
BINARY_OPDEF(MOD, "ElementWiseMod")
BINARY_OPDEF(FMOD, "ElementWiseFmod")
BINARY_OPDEF(EQUAL, "ElementWiseEqual")
BINARY_OPDEF(NOT_EQUAL, "ElementWiseNotEqual")
BINARY_OPDEF(GREATER, "ElementWiseGreater")
BINARY_OPDEF(GREATER_EQUAL, "ElementWiseGreaterEqual")
BINARY_OPDEF(LESS, "ElementWiseLess")
BINARY_OPDEF(LESS_EQUAL, "ElementWiseLessEqual")
BINARY_OPDEF(AND, "ElementWiseAnd")
BINARY_OPDEF(OR, "ElementWiseOr")
BINARY_OPDEF(XOR, "ElementWiseXor")
