/* Activations and ElementWiseNeuron. The named ops and the `operation` values
 * of ElementWiseNeuron share one implementation (act_kind uses Neuron's
 * numbering). Float math is f32; Relu and ReluMinMax also take integers
 * (ONNX Relu/Clip), Prelu f32/i32/i64. NaN inputs give NaN outputs.
 * Softplus uses max(bx,0) + log1p(exp(-|bx|)) so large inputs do not
 * overflow; `threshold` keeps its literal meaning (y = x when beta*x > it). */
#include <math.h>

#include "../kernels/dispatch.h"
#include "eltwise_util.h"

typedef enum act_kind {
    ACT_ELU = 0,
    ACT_GELU = 1,
    ACT_HARD_SIGMOID = 2,
    ACT_HARD_SWISH = 3,
    ACT_RELU = 4,
    ACT_RELU_MIN_MAX = 5,
    ACT_SIGMOID = 6,
    ACT_SOFTPLUS = 7,
    ACT_TANH = 8,
    ACT_COUNT
} act_kind;

typedef struct act_params {
    float alpha, beta, lo, hi, threshold;
} act_params;

static bool has_param(const me_node *n, const char *name) { return me_node_param(n, name) != NULL; }

/* The kind and the parameter values (defaults applied) of node n. */
static me_status act_resolve(const me_node *n, act_kind *kind, act_params *p, me_diag *d) {
    switch (n->op) {
    case ME_OP_RELU: *kind = ACT_RELU; break;
    case ME_OP_RELU_MIN_MAX: *kind = ACT_RELU_MIN_MAX; break;
    case ME_OP_SIGMOID: *kind = ACT_SIGMOID; break;
    case ME_OP_TANH: *kind = ACT_TANH; break;
    case ME_OP_ELU: *kind = ACT_ELU; break;
    case ME_OP_GELU: *kind = ACT_GELU; break;
    case ME_OP_HARD_SWISH: *kind = ACT_HARD_SWISH; break;
    case ME_OP_SOFTPLUS: *kind = ACT_SOFTPLUS; break;
    case ME_OP_NEURON: {
        int64_t v = me_param_int(n, "operation", -1);
        if (v < 0 || v >= ACT_COUNT) return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unknown operation %lld", (long long)v);
        *kind = (act_kind)v;
        break;
    }
    default: return me_op_fail(d, ME_ERR_INTERNAL, n, "not an activation");
    }
    bool hard_sigmoid = *kind == ACT_HARD_SIGMOID;
    p->alpha = (float)me_param_float(n, "alpha", hard_sigmoid ? 0.2 : 1.0);
    p->beta = (float)me_param_float(n, "beta", hard_sigmoid ? 0.5 : 1.0);
    p->lo = (float)me_param_float(n, "min_value", -INFINITY);
    p->hi = (float)me_param_float(n, "max_value", INFINITY);
    p->threshold = (float)me_param_float(n, "threshold", 20.0);
    if (*kind == ACT_RELU_MIN_MAX) {
        if (!has_param(n, "min_value") || !has_param(n, "max_value"))
            return me_op_fail(d, ME_ERR_FORMAT, n, "min_value and max_value are required");
        if (isnan(p->lo) || isnan(p->hi)) return me_op_fail(d, ME_ERR_FORMAT, n, "min_value/max_value is NaN");
    }
    if (*kind == ACT_SOFTPLUS && (!isfinite(p->beta) || p->beta == 0.0f))
        return me_op_fail(d, ME_ERR_FORMAT, n, "beta must be finite and non-zero, got %g", p->beta);
    return ME_OK;
}

/* One loop per kind so the switch stays out of the element loop. Sigmoid,
 * Tanh and Gelu go through the unary_f32 registry row `uk` (src/kernels;
 * error bounds against libm in unary_f32_simd.h). */
static void act_f32(act_kind kind, const act_params *p, const me_unary_f32_kernel *uk, const float *x, float *y,
                    int64_t n) {
    switch (kind) {
    case ACT_ELU: {
        float a = p->alpha;
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? a * expm1f(x[i]) : x[i];
        break;
    }
    case ACT_GELU:
        uk->gelu(x, y, n);
        break;
    case ACT_HARD_SIGMOID: {
        float a = p->alpha, b = p->beta;
        for (int64_t i = 0; i < n; i++) {
            float v = a * x[i] + b;
            v = v < 0.0f ? 0.0f : v;
            y[i] = v > 1.0f ? 1.0f : v;
        }
        break;
    }
    case ACT_HARD_SWISH:
        for (int64_t i = 0; i < n; i++) {
            float r = x[i] + 3.0f;
            r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
            y[i] = x[i] * r / 6.0f;
        }
        break;
    case ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
        break;
    case ACT_RELU_MIN_MAX: {
        /* min(max(x, lo), hi), keeping NaN; lo > hi gives hi everywhere (ONNX Clip). */
        float lo = p->lo, hi = p->hi;
        for (int64_t i = 0; i < n; i++) {
            float v = x[i] < lo ? lo : x[i];
            y[i] = v > hi ? hi : v;
        }
        break;
    }
    case ACT_SIGMOID:
        uk->sigmoid(x, y, n);
        break;
    case ACT_SOFTPLUS: {
        float b = p->beta, t = p->threshold;
        for (int64_t i = 0; i < n; i++) {
            float bx = b * x[i];
            y[i] = bx > t ? x[i] : ((bx > 0.0f ? bx : 0.0f) + log1pf(expf(-fabsf(bx)))) / b;
        }
        break;
    }
    case ACT_TANH:
        uk->tanh(x, y, n);
        break;
    default: break;
    }
}

/* Below this many elements an activation is not worth waking the workers. */
enum { ACT_PAR_MIN = 1 << 13 };

typedef struct act_job {
    act_kind kind;
    const act_params *p;
    const me_unary_f32_kernel *uk;
    const float *x;
    float *y;
} act_job;

static void act_chunk(void *v, int64_t b, int64_t e) {
    const act_job *j = v;
    act_f32(j->kind, j->p, j->uk, j->x + b, j->y + b, e - b);
}

/* Integer Relu / ReluMinMax: bounds rounded inward and clamped to the type. */
#define DEF_INT_CLAMP(NAME, T, DT)                                                           \
    static void NAME(const act_params *p, bool clip, const void *px, void *py, int64_t n) {  \
        const T *x = px;                                                                     \
        T *y = py;                                                                           \
        T lo, hi;                                                                            \
        if (me_dtype_is_signed_int(DT)) {                                                    \
            int64_t tmin = me_dtype_int_min(DT), tmax = (int64_t)me_dtype_int_max(DT);       \
            lo = clip ? (T)me_sat_f64_i64(ceil(p->lo), tmin, tmax) : 0;                      \
            hi = clip ? (T)me_sat_f64_i64(floor(p->hi), tmin, tmax) : (T)tmax;               \
        } else {                                                                             \
            uint64_t tmax = me_dtype_int_max(DT);                                            \
            lo = clip ? (T)me_sat_f64_u64(ceil(p->lo), tmax) : 0;                            \
            hi = clip ? (T)me_sat_f64_u64(floor(p->hi), tmax) : (T)tmax;                     \
        }                                                                                    \
        for (int64_t i = 0; i < n; i++) {                                                    \
            T v = x[i] < lo ? lo : x[i];                                                     \
            y[i] = v > hi ? hi : v;                                                          \
        }                                                                                    \
    }
DEF_INT_CLAMP(clamp_i64, int64_t, ME_DT_I64)
DEF_INT_CLAMP(clamp_i32, int32_t, ME_DT_I32)
DEF_INT_CLAMP(clamp_i16, int16_t, ME_DT_I16)
DEF_INT_CLAMP(clamp_i8, int8_t, ME_DT_I8)
DEF_INT_CLAMP(clamp_u64, uint64_t, ME_DT_U64)
DEF_INT_CLAMP(clamp_u32, uint32_t, ME_DT_U32)
DEF_INT_CLAMP(clamp_u16, uint16_t, ME_DT_U16)
DEF_INT_CLAMP(clamp_u8, uint8_t, ME_DT_U8)

typedef void (*int_clamp_fn)(const act_params *, bool, const void *, void *, int64_t);
static const int_clamp_fn int_clamp[ME_DT_COUNT] = {
    [ME_DT_I64] = clamp_i64, [ME_DT_I32] = clamp_i32, [ME_DT_I16] = clamp_i16, [ME_DT_I8] = clamp_i8,
    [ME_DT_U64] = clamp_u64, [ME_DT_U32] = clamp_u32, [ME_DT_U16] = clamp_u16, [ME_DT_U8] = clamp_u8,
};

static me_status act_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    act_kind kind;
    act_params p;
    st = act_resolve(n, &kind, &p, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    bool int_ok = (n->op == ME_OP_RELU || n->op == ME_OP_RELU_MIN_MAX) && me_dtype_is_int(x->dtype);
    if (x->dtype != ME_DT_F32 && !int_ok)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    return me_set_output(g, n, 0, x->dtype, x->rank, x->dims, d);
}

static me_status act_run(const me_kernel_ctx *k, me_diag *d) {
    act_kind kind;
    act_params p;
    me_status st = act_resolve(k->node, &kind, &p, d);
    if (st != ME_OK) return st;
    me_dtype dt = k->in[0]->dtype;
    int64_t count = me_tensor_numel(k->in[0]);
    if (dt == ME_DT_F32 && (k->node->op == ME_OP_RELU || k->node->op == ME_OP_RELU_MIN_MAX)) {
        /* the eltwise_f32 rows: 0 > x ? 0 : x is x < 0 ? 0 : x (NaN and -0 kept),
         * then lo > x ? lo : x and hi < v ? hi : v as the reference loop */
        const me_eltwise_f32_kernel *ek = k->variant;
        float zero = 0.0f;
        if (kind == ACT_RELU) {
            me_max_f32(k->pool, ek, &zero, 0, k->in_data[0], 1, k->out_data[0], count);
        } else {
            me_max_f32(k->pool, ek, &p.lo, 0, k->in_data[0], 1, k->out_data[0], count);
            me_min_f32(k->pool, ek, &p.hi, 0, k->out_data[0], 1, k->out_data[0], count);
        }
        return ME_OK;
    }
    if (dt == ME_DT_F32) {
        act_job j = {kind, &p, k->variant ? k->variant : me_unary_f32_select(), k->in_data[0], k->out_data[0]};
        /* element-wise, so chunks over threads give the same results */
        if (count < ACT_PAR_MIN) act_chunk(&j, 0, count);
        else me_parallel_for(k->pool, count, 64, act_chunk, &j);
        return ME_OK;
    }
    if ((unsigned)dt < ME_DT_COUNT && int_clamp[dt] && (kind == ACT_RELU || kind == ACT_RELU_MIN_MAX)) {
        int_clamp[dt](&p, kind == ACT_RELU_MIN_MAX, k->in_data[0], k->out_data[0], count);
        return ME_OK;
    }
    return me_fail(d, ME_ERR_UNSUPPORTED, "%s: no kernel for dtype %s", me_op_names[k->node->op], me_dtype_name(dt));
}

/* ---- Prelu: y = x < 0 ? slope * x : x, slope broadcast to x ---- */
static me_status prelu_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 2, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]], *s = &g->tensors[n->in[1]];
    if (x->dtype != ME_DT_F32 && x->dtype != ME_DT_I32 && x->dtype != ME_DT_I64)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "unsupported dtype %s", me_dtype_name(x->dtype));
    if (s->dtype != x->dtype)
        return me_op_fail(d, ME_ERR_FORMAT, n, "slope has dtype %s, input %s", me_dtype_name(s->dtype),
                          me_dtype_name(x->dtype));
    int r;
    int64_t dims[ME_MAX_RANK];
    bool ok = me_broadcast_shape(x->rank, x->dims, s->rank, s->dims, &r, dims) == ME_OK && r == x->rank;
    for (int i = 0; ok && i < r; i++) ok = dims[i] == x->dims[i];
    if (!ok) {
        char sx[ME_SHAPE_STR_MAX], ss[ME_SHAPE_STR_MAX];
        return me_op_fail(d, ME_ERR_FORMAT, n, "slope shape %s does not broadcast to input shape %s",
                          me_shape_str(ss, s->rank, s->dims), me_shape_str(sx, x->rank, x->dims));
    }
    return me_set_output(g, n, 0, x->dtype, x->rank, x->dims, d);
}

#define DEF_PRELU_ROW(NAME, T, MUL)                                                              \
    static void NAME(const void *px, const void *ps, int64_t ss, void *py, int64_t n) {           \
        const T *x = px, *s = ps;                                                                \
        T *y = py;                                                                               \
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? MUL(T, s[i * ss], x[i]) : x[i];         \
    }
#define MUL_PLAIN(T, a, b) ((a) * (b))
#define MUL_WRAP(T, a, b) ((T)((uint64_t)(a) * (uint64_t)(b)))
DEF_PRELU_ROW(prelu_f32, float, MUL_PLAIN)
DEF_PRELU_ROW(prelu_i32, int32_t, MUL_WRAP)
DEF_PRELU_ROW(prelu_i64, int64_t, MUL_WRAP)

static me_status prelu_run(const me_kernel_ctx *k, me_diag *d) {
    me_dtype dt = k->in[0]->dtype;
    void (*row)(const void *, const void *, int64_t, void *, int64_t);
    switch (dt) {
    case ME_DT_F32: row = prelu_f32; break;
    case ME_DT_I32: row = prelu_i32; break;
    case ME_DT_I64: row = prelu_i64; break;
    default: return me_fail(d, ME_ERR_UNSUPPORTED, "Prelu: no kernel for dtype %s", me_dtype_name(dt));
    }
    size_t es = me_dtype_size(dt);
    me_bcast b;
    me_bcast_plan_ctx(&b, k, 2);
    me_bcast_it it;
    me_bcast_begin(&b, &it);
    const uint8_t *px = k->in_data[0], *ps = k->in_data[1];
    uint8_t *py = k->out_data[0];
    for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&b, &it))
        row(px + (size_t)it.off[0] * es, ps + (size_t)it.off[1] * es, b.inner[1], py + (size_t)it.out_off * es,
            b.row_len);
    return ME_OK;
}

/* ---- schemas and definitions ---- */
static const me_param_schema no_params[] = {{NULL}};
static const me_param_schema relu_min_max_params[] = {
    {"min_value", ME_PARAM_SCALAR, ME_DT_F32, true},
    {"max_value", ME_PARAM_SCALAR, ME_DT_F32, true},
    {NULL}};
static const me_param_schema elu_params[] = {{"alpha", ME_PARAM_SCALAR, ME_DT_F32, false}, {NULL}};
static const me_param_schema neuron_params[] = {
    {"operation", ME_PARAM_SCALAR, ME_DT_U32, true},
    {"alpha", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"beta", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"min_value", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"max_value", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"threshold", ME_PARAM_SCALAR, ME_DT_F32, false},
    {NULL}};
static const me_param_schema softplus_params[] = {
    {"beta", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"threshold", ME_PARAM_SCALAR, ME_DT_F32, false},
    {NULL}};

#define ACT_OPDEF(ID, NAME, PARAMS) \
    const me_opdef me_opdef_##ID = {NAME, "qti.aisw", 1, 1, 1, 1, PARAMS, act_infer, act_run, NULL};
ACT_OPDEF(RELU, "Relu", no_params)
ACT_OPDEF(RELU_MIN_MAX, "ReluMinMax", relu_min_max_params)
ACT_OPDEF(SIGMOID, "Sigmoid", no_params)
ACT_OPDEF(TANH, "Tanh", no_params)
ACT_OPDEF(ELU, "Elu", elu_params)
ACT_OPDEF(GELU, "Gelu", no_params)
ACT_OPDEF(HARD_SWISH, "HardSwish", no_params)
ACT_OPDEF(NEURON, "ElementWiseNeuron", neuron_params)
ACT_OPDEF(SOFTPLUS, "ElementWiseSoftplus", softplus_params)
const me_opdef me_opdef_PRELU = {"Prelu", "qti.aisw", 2, 2, 1, 1, no_params, prelu_infer, prelu_run, NULL};
