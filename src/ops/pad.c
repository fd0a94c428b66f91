/* Pad: `pad_amount` U32 [rank, 2] = [[before, after], ...] per axis;
 * `scheme` U32: CONSTANT=0, MIRROR_SYMMETRIC=1 (edge repeated: numpy
 * "symmetric"), MIRROR_REFLECT=2 (edge not repeated: ONNX/numpy "reflect"),
 * EDGE=3, and our extension WRAP=4 (ONNX "wrap"; not a QNN scheme).
 * `pad_constant_value` F32 (default 0) is converted to the tensor dtype as a
 * plain number (for a quantised tensor it is the stored integer, as in QNN).
 * Pads wider than the axis repeat the pattern periodically: reflect has
 * period 2(dim-1) (a 1-wide axis repeats its element), symmetric 2*dim, wrap
 * dim. numpy.pad agrees for pads up to the axis size; for wider, unbalanced
 * pads its iterative padding is not periodic (numpy issues 22464, 28575) and
 * we do not copy that. A non-constant scheme cannot pad an empty axis. */
#include <math.h>
#include <string.h>

#include "../core/util.h"
#include "movement.h"

enum { PAD_CONSTANT = 0, PAD_SYMMETRIC = 1, PAD_REFLECT = 2, PAD_EDGE = 3, PAD_WRAP = 4 };

static const me_param_schema pad_params[] = {
    {"scheme", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"pad_amount", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"pad_constant_value", ME_PARAM_SCALAR, ME_DT_F32, false},
    {NULL},
};

typedef struct pad_plan {
    int scheme;
    int64_t before[ME_MAX_RANK], after[ME_MAX_RANK];
    int64_t out_dims[ME_MAX_RANK];
} pad_plan;

static me_status pad_plan_make(const me_node *n, const me_tensor *in, pad_plan *pp, me_diag *d) {
    int64_t scheme;
    me_status st = me_mv_scalar_int(n, "scheme", false, PAD_CONSTANT, &scheme, d);
    if (st != ME_OK) return st;
    if (scheme < PAD_CONSTANT || scheme > PAD_WRAP)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Pad): unknown scheme %lld", n->name, (long long)scheme);
    pp->scheme = (int)scheme;
    const me_param *amt = me_mv_int_tensor(n, "pad_amount", ME_DT_U32, 2, in->rank, 2, d);
    if (!amt) return ME_ERR_FORMAT;
    for (int a = 0; a < in->rank; a++) {
        int64_t b = amt->ivals[2 * a], e = amt->ivals[2 * a + 1], dim = in->dims[a];
        if (b < 0 || e < 0 || b > UINT32_MAX || e > UINT32_MAX)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Pad): pad_amount of axis %d is not U32", n->name, a);
        if (!me_add_i64(dim, b, &pp->out_dims[a]) || !me_add_i64(pp->out_dims[a], e, &pp->out_dims[a]))
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Pad): output is too large", n->name);
        if (dim == 0 && (b || e) && pp->scheme != PAD_CONSTANT)
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Pad): axis %d is empty; only CONSTANT can pad it", n->name, a);
        pp->before[a] = b;
        pp->after[a] = e;
    }
    return ME_OK;
}

static me_status pad_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_tensor *in = me_mv_input(g, n, 0, d);
    if (!in) return ME_ERR_FORMAT;
    if (!me_mv_elem_size(n, in->dtype, d)) return ME_ERR_UNSUPPORTED;
    const me_param *cv = me_node_param(n, "pad_constant_value");
    if (cv && cv->kind != ME_PARAM_SCALAR)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Pad): pad_constant_value must be a scalar", n->name);
    pad_plan pp;
    me_status st = pad_plan_make(n, in, &pp, d);
    if (st != ME_OK) return st;
    return me_set_output(g, n, 0, in->dtype, in->rank, pp.out_dims, d);
}

/* Round to nearest and saturate into [lo, hi]; NaN becomes 0. */
static double to_int_range(double v, double lo, double hi) {
    if (isnan(v)) return 0;
    v = round(v);
    return v < lo ? lo : v > hi ? hi : v;
}

/* The constant as one element of dtype dt (little-endian bytes). */
static void pad_value_bytes(me_dtype dt, double v, unsigned char *out) {
    union { float f; double d; uint16_t u16; int8_t i8; int16_t i16; int32_t i32; int64_t i64;
            uint8_t u8; uint32_t u32; uint64_t u64; } u;
    memset(&u, 0, sizeof u);
    switch (dt) {
    case ME_DT_F32: u.f = (float)v; break;
    case ME_DT_F64: u.d = v; break;
    case ME_DT_F16: u.u16 = me_f32_to_f16((float)v); break;
    case ME_DT_BF16: u.u16 = me_f32_to_bf16((float)v); break;
    case ME_DT_I8: u.i8 = (int8_t)to_int_range(v, INT8_MIN, INT8_MAX); break;
    case ME_DT_I16: u.i16 = (int16_t)to_int_range(v, INT16_MIN, INT16_MAX); break;
    case ME_DT_I32: u.i32 = (int32_t)to_int_range(v, INT32_MIN, INT32_MAX); break;
    /* 2^63 is the first double above INT64_MAX; stay below it */
    case ME_DT_I64: u.i64 = (int64_t)to_int_range(v, -9223372036854775808.0, 9223372036854774784.0); break;
    case ME_DT_U8: u.u8 = (uint8_t)to_int_range(v, 0, UINT8_MAX); break;
    case ME_DT_U16: u.u16 = (uint16_t)to_int_range(v, 0, UINT16_MAX); break;
    case ME_DT_U32: u.u32 = (uint32_t)to_int_range(v, 0, UINT32_MAX); break;
    case ME_DT_U64: u.u64 = (uint64_t)to_int_range(v, 0, 18446744073709549568.0); break;
    case ME_DT_BOOL: u.u8 = v != 0; break;
    default: break;
    }
    memcpy(out, &u, 8);
}

/* Input index that output position p (relative to the interior start, so
 * possibly negative or >= dim) copies from. dim > 0. */
static int64_t pad_source(int scheme, int64_t i, int64_t dim) {
    int64_t period, m;
    switch (scheme) {
    case PAD_EDGE: return i < 0 ? 0 : i >= dim ? dim - 1 : i;
    case PAD_WRAP: m = i % dim; return m < 0 ? m + dim : m;
    case PAD_REFLECT:
        if (dim == 1) return 0;
        period = 2 * (dim - 1);
        m = i % period;
        if (m < 0) m += period;
        return m < dim ? m : period - m;
    default: /* PAD_SYMMETRIC */
        period = 2 * dim;
        m = i % period;
        if (m < 0) m += period;
        return m < dim ? m : period - 1 - m;
    }
}

static me_status pad_run(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    const me_tensor *in = k->in[0];
    size_t es = me_mv_elem_size(n, in->dtype, d);
    if (!es) return ME_ERR_UNSUPPORTED;
    pad_plan pp;
    me_status st = pad_plan_make(n, in, &pp, d);
    if (st == ME_OK) st = me_mv_check_out(k, 0, in->rank, pp.out_dims, es, d);
    if (st != ME_OK) return st;
    int rank = in->rank;
    const int64_t *od = pp.out_dims, *id = in->dims;
    if (me_shape_numel(rank, od) == 0) return ME_OK;
    char *out = k->out_data[0];
    const char *src = k->in_data[0];
    if (rank == 0) {
        memcpy(out, src, es);
        return ME_OK;
    }
    int64_t ostr[ME_MAX_RANK]; /* output strides in bytes */
    ostr[rank - 1] = (int64_t)es;
    for (int a = rank - 2; a >= 0; a--) ostr[a] = ostr[a + 1] * od[a + 1];

    /* 1. the input rows into the interior */
    if (me_shape_numel(rank, id) > 0) {
        size_t row = (size_t)id[rank - 1] * es;
        int64_t idx[ME_MAX_RANK] = {0};
        int64_t off = 0;
        for (int a = 0; a < rank; a++) off += pp.before[a] * ostr[a];
        for (;;) {
            memcpy(out + off, src, row);
            src += row;
            int a = rank - 2;
            for (; a >= 0; a--) {
                off += ostr[a];
                if (++idx[a] < id[a]) break;
                off -= ostr[a] * id[a];
                idx[a] = 0;
            }
            if (a < 0) break;
        }
    }

    /* 2. axis by axis from the innermost: fill the pads of axis a inside the
     * interior of axes < a; slabs along a are whole (axes > a are done). */
    unsigned char value[8];
    pad_value_bytes(in->dtype, me_param_float(n, "pad_constant_value", 0.0), value);
    for (int a = rank - 1; a >= 0; a--) {
        if (pp.before[a] == 0 && pp.after[a] == 0) continue;
        bool empty = false;
        for (int j = 0; j < a; j++) empty |= id[j] == 0;
        if (empty) continue; /* nothing interior on an outer axis: filled when that axis is */
        int64_t slab = ostr[a];
        int64_t idx[ME_MAX_RANK] = {0};
        int64_t base = 0;
        for (int j = 0; j < a; j++) base += pp.before[j] * ostr[j];
        for (;;) {
            if (pp.scheme == PAD_CONSTANT) {
                me_mv_fill(out + base, value, es, (size_t)(pp.before[a] * slab) / es);
                me_mv_fill(out + base + (pp.before[a] + id[a]) * slab, value, es, (size_t)(pp.after[a] * slab) / es);
            } else {
                for (int64_t p = 0; p < od[a]; p++) {
                    if (p == pp.before[a]) p += id[a];
                    if (p >= od[a]) break;
                    int64_t from = pp.before[a] + pad_source(pp.scheme, p - pp.before[a], id[a]);
                    memcpy(out + base + p * slab, out + base + from * slab, (size_t)slab);
                }
            }
            int j = a - 1;
            for (; j >= 0; j--) {
                base += ostr[j];
                if (++idx[j] < id[j]) break;
                base -= ostr[j] * id[j];
                idx[j] = 0;
            }
            if (j < 0) break;
        }
    }
    return ME_OK;
}

const me_opdef me_opdef_PAD = {
    .name = "Pad", .package = "qti.aisw",
    .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .params = pad_params,
    .infer = pad_infer, .run = pad_run,
};
