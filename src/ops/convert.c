/* Cast, Quantize, Dequantize.
 *
 * Cast: the target dtype is the output tensor's dtype as its creator set it
 * (QNN passes no param). Float -> integer truncates toward zero, NaN gives 0
 * and out-of-range values clamp to the type's range (C leaves them
 * undefined); integer -> integer wraps (keeps the low bits); x -> bool is
 * x != 0 (NaN -> true); bool reads as 0/1. Values are moved through 256-element
 * chunks of double / int64 / uint64 so no precision is lost on the way.
 *
 * Quantize: q = clamp(round_half_even(x / scale) - offset) to the output
 * dtype's range, with the output tensor's encoding (per tensor or per axis;
 * QNN's offset = -zero_point). NaN quantises to -offset (the zero point).
 * Dequantize: (q + offset) * scale in f32, with the input tensor's encoding. */
#include <math.h>
#include <string.h>

#include "../core/util.h"
#include "eltwise_util.h"

/* ---- Cast ---- */
static bool cast_dtype_ok(me_dtype dt) {
    switch (dt) {
    case ME_DT_F32: case ME_DT_F16: case ME_DT_BF16: case ME_DT_F64:
    case ME_DT_I64: case ME_DT_I32: case ME_DT_I16: case ME_DT_I8:
    case ME_DT_U64: case ME_DT_U32: case ME_DT_U16: case ME_DT_U8: case ME_DT_BOOL: return true;
    default: return false;
    }
}

enum { CHUNK = 256 };
typedef enum { VAL_F, VAL_I, VAL_U } val_kind;
typedef struct chunk {
    val_kind kind;
    union {
        double f[CHUNK];
        int64_t i[CHUNK];
        uint64_t u[CHUNK];
    } v;
} chunk;

#define LOAD(KIND, FIELD, T, EXPR)                                                     \
    do {                                                                               \
        const T *s = (const T *)src + start;                                           \
        c->kind = KIND;                                                                \
        for (int j = 0; j < n; j++) { T x = s[j]; c->v.FIELD[j] = EXPR; }              \
    } while (0)

static void load_chunk(const void *src, me_dtype dt, int64_t start, int n, chunk *c) {
    switch (dt) {
    case ME_DT_F32: LOAD(VAL_F, f, float, (double)x); break;
    case ME_DT_F64: LOAD(VAL_F, f, double, x); break;
    case ME_DT_F16: LOAD(VAL_F, f, uint16_t, (double)me_f16_to_f32(x)); break;
    case ME_DT_BF16: LOAD(VAL_F, f, uint16_t, (double)me_bf16_to_f32(x)); break;
    case ME_DT_I64: LOAD(VAL_I, i, int64_t, x); break;
    case ME_DT_I32: LOAD(VAL_I, i, int32_t, x); break;
    case ME_DT_I16: LOAD(VAL_I, i, int16_t, x); break;
    case ME_DT_I8: LOAD(VAL_I, i, int8_t, x); break;
    case ME_DT_U64: LOAD(VAL_U, u, uint64_t, x); break;
    case ME_DT_U32: LOAD(VAL_I, i, uint32_t, (int64_t)x); break;
    case ME_DT_U16: LOAD(VAL_I, i, uint16_t, (int64_t)x); break;
    case ME_DT_U8: LOAD(VAL_I, i, uint8_t, (int64_t)x); break;
    case ME_DT_BOOL: LOAD(VAL_I, i, uint8_t, x != 0); break;
    default: break;
    }
}

/* Store one chunk: EXPR_F/EXPR_I/EXPR_U convert a double/int64/uint64 `v`. */
#define STORE(T, EXPR_F, EXPR_I, EXPR_U)                                                          \
    do {                                                                                          \
        T *o = (T *)dst + start;                                                                  \
        if (c->kind == VAL_F) for (int j = 0; j < n; j++) { double v = c->v.f[j]; o[j] = EXPR_F; } \
        else if (c->kind == VAL_I) for (int j = 0; j < n; j++) { int64_t v = c->v.i[j]; o[j] = EXPR_I; } \
        else for (int j = 0; j < n; j++) { uint64_t v = c->v.u[j]; o[j] = EXPR_U; }               \
    } while (0)

#define SAT_S(T, DT) (T) me_sat_f64_i64(v, me_dtype_int_min(DT), (int64_t)me_dtype_int_max(DT))
#define SAT_U(T, DT) (T) me_sat_f64_u64(v, me_dtype_int_max(DT))

static void store_chunk(void *dst, me_dtype dt, int64_t start, int n, const chunk *c) {
    switch (dt) {
    case ME_DT_F32: STORE(float, (float)v, (float)v, (float)v); break;
    case ME_DT_F64: STORE(double, v, (double)v, (double)v); break;
    case ME_DT_F16: STORE(uint16_t, me_f32_to_f16((float)v), me_f32_to_f16((float)v), me_f32_to_f16((float)v)); break;
    case ME_DT_BF16: STORE(uint16_t, me_f32_to_bf16((float)v), me_f32_to_bf16((float)v), me_f32_to_bf16((float)v)); break;
    case ME_DT_I64: STORE(int64_t, SAT_S(int64_t, ME_DT_I64), v, (int64_t)v); break;
    case ME_DT_I32: STORE(int32_t, SAT_S(int32_t, ME_DT_I32), (int32_t)v, (int32_t)v); break;
    case ME_DT_I16: STORE(int16_t, SAT_S(int16_t, ME_DT_I16), (int16_t)v, (int16_t)v); break;
    case ME_DT_I8: STORE(int8_t, SAT_S(int8_t, ME_DT_I8), (int8_t)v, (int8_t)v); break;
    case ME_DT_U64: STORE(uint64_t, SAT_U(uint64_t, ME_DT_U64), (uint64_t)v, v); break;
    case ME_DT_U32: STORE(uint32_t, SAT_U(uint32_t, ME_DT_U32), (uint32_t)v, (uint32_t)v); break;
    case ME_DT_U16: STORE(uint16_t, SAT_U(uint16_t, ME_DT_U16), (uint16_t)v, (uint16_t)v); break;
    case ME_DT_U8: STORE(uint8_t, SAT_U(uint8_t, ME_DT_U8), (uint8_t)v, (uint8_t)v); break;
    case ME_DT_BOOL: STORE(uint8_t, v != 0.0, v != 0, v != 0); break;
    default: break;
    }
}

static me_status cast_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    me_dtype to = g->tensors[n->out[0]].dtype;
    if (!cast_dtype_ok(x->dtype))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "cannot cast from %s", me_dtype_name(x->dtype));
    if (to == ME_DT_UNDEFINED) return me_op_fail(d, ME_ERR_FORMAT, n, "output dtype is not set");
    if (!cast_dtype_ok(to)) return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "cannot cast to %s", me_dtype_name(to));
    return me_set_output(g, n, 0, to, x->rank, x->dims, d);
}

static me_status cast_run(const me_kernel_ctx *k, me_diag *d) {
    me_dtype from = k->in[0]->dtype, to = k->out[0]->dtype;
    if (!cast_dtype_ok(from) || !cast_dtype_ok(to))
        return me_fail(d, ME_ERR_UNSUPPORTED, "Cast: no kernel for %s -> %s", me_dtype_name(from), me_dtype_name(to));
    int64_t count = me_tensor_numel(k->in[0]);
    if (from == to) {
        memcpy(k->out_data[0], k->in_data[0], me_tensor_nbytes(k->in[0]));
        return ME_OK;
    }
    chunk c;
    for (int64_t s = 0; s < count; s += CHUNK) {
        int n = (int)(count - s < CHUNK ? count - s : CHUNK);
        load_chunk(k->in_data[0], from, s, n, &c);
        store_chunk(k->out_data[0], to, s, n, &c);
    }
    return ME_OK;
}

/* ---- Quantize / Dequantize ---- */
static bool quant_dtype_ok(me_dtype dt) {
    return dt == ME_DT_U8 || dt == ME_DT_I8 || dt == ME_DT_U16 || dt == ME_DT_I16 || dt == ME_DT_I32;
}

/* The encoding of tensor t must be per tensor or per axis with positive
 * finite scales, one per element along the axis. */
static me_status check_qenc(const me_node *n, const me_tensor *t, const char *which, me_diag *d) {
    const me_qenc *q = t->qenc;
    if (!q) return me_op_fail(d, ME_ERR_FORMAT, n, "%s tensor '%s' has no quantisation encoding", which, t->name);
    if (q->kind != ME_QENC_SCALE_OFFSET && q->kind != ME_QENC_AXIS_SCALE_OFFSET)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "%s tensor '%s': only scale/offset encodings are supported", which, t->name);
    if (!q->scales || q->n < 1)
        return me_op_fail(d, ME_ERR_FORMAT, n, "%s tensor '%s': encoding has no scales", which, t->name);
    if (q->kind == ME_QENC_AXIS_SCALE_OFFSET) {
        if (q->axis < 0 || q->axis >= t->rank)
            return me_op_fail(d, ME_ERR_FORMAT, n, "%s tensor '%s': encoding axis %d is out of range for rank %d", which,
                              t->name, q->axis, t->rank);
        if (q->n != t->dims[q->axis])
            return me_op_fail(d, ME_ERR_FORMAT, n, "%s tensor '%s': %lld scales for axis %d of size %lld", which, t->name,
                              (long long)q->n, q->axis, (long long)t->dims[q->axis]);
    }
    int64_t count = q->kind == ME_QENC_SCALE_OFFSET ? 1 : q->n;
    for (int64_t i = 0; i < count; i++)
        if (!(isfinite(q->scales[i]) && q->scales[i] > 0.0f))
            return me_op_fail(d, ME_ERR_FORMAT, n, "%s tensor '%s': scale %lld is %g, must be positive and finite", which,
                              t->name, (long long)i, q->scales[i]);
    return ME_OK;
}

/* Loop shape for an encoding: `groups` runs of `run` elements share one
 * scale, cycling through nscale scales (per tensor: 1 scale, 1 group). */
static void qenc_layout(const me_tensor *t, const me_qenc *q, int64_t *outer, int64_t *nscale, int64_t *run) {
    if (q->kind == ME_QENC_AXIS_SCALE_OFFSET) {
        me_axis_split(t->rank, t->dims, q->axis, outer, nscale, run);
    } else {
        *outer = 1;
        *nscale = 1;
        *run = me_tensor_numel(t);
    }
}

static me_status quantize_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    me_tensor *y = &g->tensors[n->out[0]];
    if (x->dtype != ME_DT_F32 && x->dtype != ME_DT_F16) /* f16: ops left in float with --float-bitwidth 16 */
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "input has dtype %s, expected float32 or float16",
                          me_dtype_name(x->dtype));
    if (y->dtype == ME_DT_UNDEFINED) return me_op_fail(d, ME_ERR_FORMAT, n, "output dtype is not set");
    if (!quant_dtype_ok(y->dtype))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "cannot quantise to %s", me_dtype_name(y->dtype));
    st = me_set_output(g, n, 0, y->dtype, x->rank, x->dims, d);
    if (st != ME_OK) return st;
    return check_qenc(n, y, "output", d);
}

#define DEF_QUANT(NAME, T)                                                                               \
    static void NAME(const void *px, bool f16, void *py, const me_qenc *q, int64_t outer, int64_t ns,    \
                     int64_t run, int64_t lo, int64_t hi) {                                              \
        T *y = py;                                                                                       \
        for (int64_t o = 0; o < outer; o++)                                                              \
            for (int64_t s = 0; s < ns; s++) {                                                           \
                float scale = q->scales[s];                                                              \
                double off = q->offsets ? q->offsets[s] : 0;                                             \
                int64_t base = (o * ns + s) * run;                                                       \
                for (int64_t i = 0; i < run; i++) {                                                      \
                    float v = f16 ? me_f16_to_f32(((const uint16_t *)px)[base + i])                      \
                                  : ((const float *)px)[base + i];                                       \
                    double r = isnan(v) ? -off : (double)me_round_half_even(v / scale) - off;            \
                    y[base + i] = (T)me_sat_f64_i64(r, lo, hi);                                          \
                }                                                                                        \
            }                                                                                            \
    }
DEF_QUANT(quant_u8, uint8_t)
DEF_QUANT(quant_i8, int8_t)
DEF_QUANT(quant_u16, uint16_t)
DEF_QUANT(quant_i16, int16_t)
DEF_QUANT(quant_i32, int32_t)

static me_status quantize_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *y = k->out[0];
    const me_qenc *q = y->qenc;
    me_status st = check_qenc(k->node, y, "output", d);
    if (st != ME_OK) return st;
    int64_t outer, ns, run;
    qenc_layout(y, q, &outer, &ns, &run);
    int64_t lo = me_dtype_int_min(y->dtype), hi = (int64_t)me_dtype_int_max(y->dtype);
    const void *x = k->in_data[0];
    bool f16 = k->in[0]->dtype == ME_DT_F16;
    void *o = k->out_data[0];
    switch (y->dtype) {
    case ME_DT_U8: quant_u8(x, f16, o, q, outer, ns, run, lo, hi); break;
    case ME_DT_I8: quant_i8(x, f16, o, q, outer, ns, run, lo, hi); break;
    case ME_DT_U16: quant_u16(x, f16, o, q, outer, ns, run, lo, hi); break;
    case ME_DT_I16: quant_i16(x, f16, o, q, outer, ns, run, lo, hi); break;
    case ME_DT_I32: quant_i32(x, f16, o, q, outer, ns, run, lo, hi); break;
    default: return me_fail(d, ME_ERR_UNSUPPORTED, "Quantize: no kernel for %s", me_dtype_name(y->dtype));
    }
    return ME_OK;
}

static me_status dequantize_infer(me_graph *g, me_node *n, me_diag *d) {
    me_status st = me_op_check_node(g, n, 1, d);
    if (st != ME_OK) return st;
    const me_tensor *x = &g->tensors[n->in[0]];
    if (!quant_dtype_ok(x->dtype) && x->dtype != ME_DT_I4 && x->dtype != ME_DT_U4)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "cannot dequantise %s", me_dtype_name(x->dtype));
    st = check_qenc(n, x, "input", d);
    if (st != ME_OK) return st;
    /* float16 when the FP16 pass made the output f16 (--float-bitwidth 16) */
    me_dtype to = g->tensors[n->out[0]].dtype == ME_DT_F16 ? ME_DT_F16 : ME_DT_F32;
    return me_set_output(g, n, 0, to, x->rank, x->dims, d);
}

/* The f32 values a dequantiser computed, stored as the output dtype wants. */
static void store_dequantised(float *y, int64_t n, const me_tensor *out, void *dst) {
    if (out->dtype != ME_DT_F16) return; /* y is dst already */
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = me_f32_to_f16(y[i]);
}

#define DEF_DEQUANT(NAME, T)                                                                              \
    static void NAME(const void *px, float *y, const me_qenc *q, int64_t outer, int64_t ns, int64_t run) { \
        const T *x = px;                                                                                  \
        for (int64_t o = 0; o < outer; o++)                                                               \
            for (int64_t s = 0; s < ns; s++) {                                                            \
                float scale = q->scales[s];                                                               \
                int64_t off = q->offsets ? q->offsets[s] : 0;                                             \
                int64_t base = (o * ns + s) * run;                                                        \
                for (int64_t i = 0; i < run; i++) y[base + i] = (float)((int64_t)x[base + i] + off) * scale; \
            }                                                                                             \
    }
DEF_DEQUANT(dequant_u8, uint8_t)
DEF_DEQUANT(dequant_i8, int8_t)
DEF_DEQUANT(dequant_u16, uint16_t)
DEF_DEQUANT(dequant_i16, int16_t)
DEF_DEQUANT(dequant_i32, int32_t)

/* Packed 4-bit: element i in byte i/2, low nibble for even i. */
static void dequant_4bit(const void *px, bool sgn, float *y, const me_qenc *q, int64_t outer, int64_t ns, int64_t run) {
    const uint8_t *x = px;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t s = 0; s < ns; s++) {
            float scale = q->scales[s];
            int64_t off = q->offsets ? q->offsets[s] : 0;
            int64_t base = (o * ns + s) * run;
            for (int64_t i = base; i < base + run; i++) {
                int v = (i & 1) ? x[i >> 1] >> 4 : x[i >> 1] & 15;
                if (sgn && v >= 8) v -= 16;
                y[i] = (float)((int64_t)v + off) * scale;
            }
        }
}

static me_status dequantize_run(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *x = k->in[0];
    const me_qenc *q = x->qenc;
    me_status st = check_qenc(k->node, x, "input", d);
    if (st != ME_OK) return st;
    int64_t outer, ns, run;
    qenc_layout(x, q, &outer, &ns, &run);
    const void *in = k->in_data[0];
    bool f16 = k->out[0]->dtype == ME_DT_F16;
    if (f16 && !k->scratch) return me_fail(d, ME_ERR_INTERNAL, "Dequantize to float16 needs scratch");
    float *o = f16 ? k->scratch : k->out_data[0];
    switch (x->dtype) {
    case ME_DT_U8: dequant_u8(in, o, q, outer, ns, run); break;
    case ME_DT_I8: dequant_i8(in, o, q, outer, ns, run); break;
    case ME_DT_U16: dequant_u16(in, o, q, outer, ns, run); break;
    case ME_DT_I16: dequant_i16(in, o, q, outer, ns, run); break;
    case ME_DT_I32: dequant_i32(in, o, q, outer, ns, run); break;
    case ME_DT_I4: case ME_DT_U4: dequant_4bit(in, x->dtype == ME_DT_I4, o, q, outer, ns, run); break;
    default: return me_fail(d, ME_ERR_UNSUPPORTED, "Dequantize: no kernel for %s", me_dtype_name(x->dtype));
    }
    store_dequantised(o, me_tensor_numel(k->out[0]), k->out[0], k->out_data[0]);
    return ME_OK;
}

/* float32 values before they are rounded to a float16 output */
static size_t dequantize_scratch(const me_graph *g, const me_node *n) {
    const me_tensor *y = &g->tensors[n->out[0]];
    int64_t cnt = me_tensor_numel(y);
    return y->dtype == ME_DT_F16 && cnt > 0 ? (size_t)cnt * sizeof(float) : 0;
}

static const me_param_schema no_params[] = {{NULL}};

const me_opdef me_opdef_CAST = {"Cast", "qti.aisw", 1, 1, 1, 1, no_params, cast_infer, cast_run, NULL};
const me_opdef me_opdef_QUANTIZE = {"Quantize", "qti.aisw", 1, 1, 1, 1, no_params, quantize_infer, quantize_run, NULL};
const me_opdef me_opdef_DEQUANTIZE = {"Dequantize", "qti.aisw", 1, 1, 1, 1, no_params, dequantize_infer, dequantize_run,
                                      dequantize_scratch};
