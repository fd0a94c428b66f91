/* ONNX QDQ writer: value naming, nodes, constants and Q/DQ of IR tensors. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../core/util.h"
#include "../../ops/ops.h"
#include "ox.h"

me_status ox_fail(ox *x, me_status st, const char *fmt, ...) {
    if (x->st != ME_OK) return x->st;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (x->node)
        me_fail(x->d, st, "onnx-qdq export: node '%s' (%s): %s", x->node->name,
                (x->node->op >= 0 && x->node->op < ME_OP_COUNT) ? me_op_names[x->node->op] : "?", msg);
    else
        me_fail(x->d, st, "onnx-qdq export: %s", msg);
    x->st = st;
    return st;
}

static void *ox_alloc(ox *x, size_t n, size_t size) {
    void *p = me_arena_calloc(&x->arena, n ? n : 1, size);
    if (!p) ox_fail(x, ME_ERR_NOMEM, "out of memory");
    return p;
}

bool ox_is_quantised(const me_tensor *t) {
    return t->qenc && t->qenc->kind != ME_QENC_NONE && !me_dtype_is_float(t->dtype) && t->dtype != ME_DT_BOOL;
}

int ox_onnx_type(me_dtype dt) {
    switch (dt) {
    case ME_DT_F32: return OX_FLOAT;
    case ME_DT_F16: return OX_FLOAT16;
    case ME_DT_BF16: return OX_BFLOAT16;
    case ME_DT_F64: return OX_DOUBLE;
    case ME_DT_I64: return OX_INT64;
    case ME_DT_I32: return OX_INT32;
    case ME_DT_I16: return OX_INT16;
    case ME_DT_I8: return OX_INT8;
    case ME_DT_U64: return OX_UINT64;
    case ME_DT_U32: return OX_UINT32;
    case ME_DT_U16: return OX_UINT16;
    case ME_DT_U8: return OX_UINT8;
    case ME_DT_BOOL: return OX_BOOL;
    case ME_DT_I4: return OX_INT4;
    case ME_DT_U4: return OX_UINT4;
    default: return 0;
    }
}

me_status ox_init_builder(ox *x, const me_graph *g, me_diag *d) {
    memset(x, 0, sizeof *x);
    x->g = g;
    x->d = d;
    me_arena_init(&x->arena);
    size_t n = (size_t)(g->n_tensors > 0 ? g->n_tensors : 1);
    x->raw = ox_alloc(x, n, sizeof *x->raw);
    x->flt = ox_alloc(x, n, sizeof *x->flt);
    x->pending = ox_alloc(x, n, sizeof *x->pending);
    x->names_cap = 1024;
    x->names = ox_alloc(x, x->names_cap, sizeof *x->names);
    return x->st;
}

void ox_free(ox *x) {
    pb_out_free(&x->nodes);
    pb_out_free(&x->cur);
    me_arena_free(&x->arena);
}

/* ---------------------------------------------------------------- names */

static uint64_t name_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static bool name_taken(const ox *x, const char *s) {
    if (me_graph_find_tensor(x->g, s) >= 0) return true;
    for (size_t i = name_hash(s) & (x->names_cap - 1);; i = (i + 1) & (x->names_cap - 1)) {
        if (!x->names[i]) return false;
        if (strcmp(x->names[i], s) == 0) return true;
    }
}

static void name_add(ox *x, const char *s) {
    if (x->st) return;
    if ((x->n_names + 1) * 2 > x->names_cap) {
        size_t cap = x->names_cap * 2;
        const char **nn = ox_alloc(x, cap, sizeof *nn);
        if (!nn) return;
        for (size_t k = 0; k < x->names_cap; k++) {
            const char *v = x->names[k];
            if (!v) continue;
            size_t i = name_hash(v) & (cap - 1);
            while (nn[i]) i = (i + 1) & (cap - 1);
            nn[i] = v;
        }
        x->names = nn;
        x->names_cap = cap;
    }
    size_t i = name_hash(s) & (x->names_cap - 1);
    while (x->names[i]) i = (i + 1) & (x->names_cap - 1);
    x->names[i] = s;
    x->n_names++;
}

const char *ox_tmp(ox *x, const char *base) {
    if (x->st) return "";
    for (unsigned k = 0;; k++) {
        char *s = k ? me_arena_printf(&x->arena, "%s_%u", base, k) : me_arena_strdup(&x->arena, base);
        if (!s) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return ""; }
        if (!name_taken(x, s)) {
            name_add(x, s);
            return s;
        }
    }
}

static const char *node_base(ox *x, const char *suffix) {
    const char *b = x->node && x->node->name ? x->node->name : "n";
    char *s = me_arena_printf(&x->arena, "%s/%s", b, suffix);
    if (!s) ox_fail(x, ME_ERR_NOMEM, "out of memory");
    return s ? s : "";
}

const char *ox_node_tmp(ox *x, const char *suffix) { return ox_tmp(x, node_base(x, suffix)); }

/* ---------------------------------------------------------------- nodes */

static void flush_node(ox *x) {
    if (!x->cur_open) return;
    pb_msg(&x->nodes, 1, &x->cur);
    x->cur.n = 0;
    x->cur_open = false;
}

void ox_op(ox *x, const char *op_type, const char *const *in, int n_in, const char *const *out, int n_out) {
    flush_node(x);
    if (x->st) return;
    x->cur_open = true;
    x->n_nodes++;
    char nm[64];
    snprintf(nm, sizeof nm, "%s_%d", op_type, x->n_nodes);
    pb_str(&x->cur, 3, node_base(x, nm));
    pb_str(&x->cur, 4, op_type);
    for (int i = 0; i < n_in; i++) pb_str(&x->cur, 1, in[i] ? in[i] : "");
    for (int i = 0; i < n_out; i++) pb_str(&x->cur, 2, out[i]);
}

/* AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20. */
void ox_attr_int(ox *x, const char *name, int64_t v) {
    pb_out a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, 2);
    pb_int(&a, 3, v);
    pb_msg(&x->cur, 5, &a);
    pb_out_free(&a);
}

void ox_attr_float(ox *x, const char *name, float v) {
    pb_out a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, 1);
    pb_float(&a, 2, v);
    pb_msg(&x->cur, 5, &a);
    pb_out_free(&a);
}

void ox_attr_str(ox *x, const char *name, const char *v) {
    pb_out a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, 3);
    pb_str(&a, 4, v);
    pb_msg(&x->cur, 5, &a);
    pb_out_free(&a);
}

void ox_attr_ints(ox *x, const char *name, const int64_t *v, int n) {
    pb_out a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 20, 7);
    for (int i = 0; i < n; i++) pb_int(&a, 8, v[i]);
    pb_msg(&x->cur, 5, &a);
    pb_out_free(&a);
}

const char *ox_op1(ox *x, const char *op_type, const char *in) {
    const char *o = ox_tmp(x, node_base(x, op_type));
    ox_op(x, op_type, &in, 1, &o, 1);
    return o;
}

const char *ox_op2(ox *x, const char *op_type, const char *a, const char *b) {
    const char *o = ox_tmp(x, node_base(x, op_type));
    const char *in[2] = {a, b};
    ox_op(x, op_type, in, 2, &o, 1);
    return o;
}

const char *ox_transpose(ox *x, const char *in, const int64_t *perm, int rank) {
    const char *o = ox_op1(x, "Transpose", in);
    ox_attr_ints(x, "perm", perm, rank);
    return o;
}

/* ---------------------------------------------------------------- initializers */

static ox_init *new_init(ox *x, const char *name, int onnx_type, int rank, const int64_t *dims) {
    if (x->st) return NULL;
    if (x->n_inits == x->cap_inits) {
        int cap = x->cap_inits ? x->cap_inits * 2 : 64;
        ox_init *p = me_arena_grow(&x->arena, x->inits, (size_t)x->n_inits, (size_t)cap, sizeof *p);
        if (!p) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return NULL; }
        x->inits = p;
        x->cap_inits = cap;
    }
    ox_init *in = &x->inits[x->n_inits++];
    memset(in, 0, sizeof *in);
    in->name = name;
    in->onnx_type = onnx_type;
    in->rank = rank;
    for (int i = 0; i < rank; i++) in->dims[i] = dims[i];
    return in;
}

/* An initializer over bytes copied into the arena. */
static const char *const_bytes(ox *x, const char *base, int onnx_type, int rank, const int64_t *dims,
                               const void *bytes, size_t n) {
    const char *name = ox_tmp(x, base);
    void *copy = ox_alloc(x, n, 1);
    ox_init *in = new_init(x, name, onnx_type, rank, dims);
    if (!in || !copy) return "";
    if (n) memcpy(copy, bytes, n);
    in->data = copy;
    in->nbytes = n;
    return name;
}

const char *ox_const_i64(ox *x, const int64_t *v, int n) {
    int64_t dims[1] = {n};
    return const_bytes(x, node_base(x, "i64"), OX_INT64, 1, dims, v, (size_t)n * 8);
}

const char *ox_const_i64_scalar(ox *x, int64_t v) {
    return const_bytes(x, node_base(x, "i64"), OX_INT64, 0, NULL, &v, 8);
}

const char *ox_const_f32(ox *x, const float *v, int rank, const int64_t *dims) {
    int64_t n = me_shape_numel(rank, dims);
    if (n < 0) { ox_fail(x, ME_ERR_INTERNAL, "bad constant shape"); return ""; }
    return const_bytes(x, node_base(x, "f32"), OX_FLOAT, rank, dims, v, (size_t)n * 4);
}

const char *ox_const_f32_scalar(ox *x, float v) { return ox_const_f32(x, &v, 0, NULL); }

const char *ox_const_scalar(ox *x, me_dtype dt, double v) {
    union { float f; double f64; int64_t i64; int32_t i32; int16_t i16; int8_t i8; uint64_t u64; uint32_t u32;
            uint16_t u16; uint8_t u8; } u;
    memset(&u, 0, sizeof u);
    size_t n;
    switch (dt) {
    case ME_DT_F32: u.f = (float)v; n = 4; break;
    case ME_DT_F64: u.f64 = v; n = 8; break;
    case ME_DT_I64: u.i64 = (int64_t)v; n = 8; break;
    case ME_DT_I32: u.i32 = (int32_t)v; n = 4; break;
    case ME_DT_I16: u.i16 = (int16_t)v; n = 2; break;
    case ME_DT_I8: u.i8 = (int8_t)v; n = 1; break;
    case ME_DT_U64: u.u64 = (uint64_t)v; n = 8; break;
    case ME_DT_U32: u.u32 = (uint32_t)v; n = 4; break;
    case ME_DT_U16: u.u16 = (uint16_t)v; n = 2; break;
    case ME_DT_U8: case ME_DT_BOOL: u.u8 = (uint8_t)v; n = 1; break;
    case ME_DT_F16: u.u16 = me_f32_to_f16((float)v); n = 2; break;
    default:
        ox_fail(x, ME_ERR_UNSUPPORTED, "no ONNX constant of dtype %s", me_dtype_name(dt));
        return "";
    }
    return const_bytes(x, node_base(x, "const"), ox_onnx_type(dt), 0, NULL, &u, n);
}

/* ---------------------------------------------------------------- Q / DQ */

/* Scale and zero-point initializers of an encoding (per tensor: 0-D; per
 * axis: 1-D [n]). The zero point has the quantised tensor's dtype. */
static bool qparams(ox *x, const me_tensor *t, const char **scale, const char **zp) {
    const me_qenc *q = t->qenc;
    bool per_axis = q->kind == ME_QENC_AXIS_SCALE_OFFSET;
    if (q->kind != ME_QENC_SCALE_OFFSET && !per_axis) {
        ox_fail(x, ME_ERR_UNSUPPORTED, "tensor '%s': block encodings have no ONNX QDQ form", t->name);
        return false;
    }
    if (q->n < 1 || !q->scales || !q->offsets || (!per_axis && q->n != 1)) {
        ox_fail(x, ME_ERR_FORMAT, "tensor '%s': malformed encoding", t->name);
        return false;
    }
    if (per_axis && (q->axis < 0 || q->axis >= t->rank || t->dims[q->axis] != q->n)) {
        ox_fail(x, ME_ERR_FORMAT, "tensor '%s': per-axis encoding of %lld values does not fit axis %d", t->name,
                (long long)q->n, q->axis);
        return false;
    }
    int64_t lo, hi;
    size_t esz;
    switch (t->dtype) {
    case ME_DT_U8: lo = 0, hi = 255, esz = 1; break;
    case ME_DT_I8: lo = -128, hi = 127, esz = 1; break;
    case ME_DT_U16: lo = 0, hi = 65535, esz = 2; break;
    case ME_DT_I16: lo = -32768, hi = 32767, esz = 2; break;
    case ME_DT_I32: lo = INT32_MIN, hi = INT32_MAX, esz = 4; break;
    case ME_DT_I4: lo = -8, hi = 7, esz = 0; break;
    case ME_DT_U4: lo = 0, hi = 15, esz = 0; break;
    default:
        ox_fail(x, ME_ERR_UNSUPPORTED, "tensor '%s': quantised dtype %s has no ONNX QuantizeLinear form", t->name,
                me_dtype_name(t->dtype));
        return false;
    }
    int64_t n = q->n;
    size_t zbytes = esz ? (size_t)n * esz : (size_t)(n + 1) / 2;
    uint8_t *zb = ox_alloc(x, zbytes, 1);
    float *sc = ox_alloc(x, (size_t)n, sizeof(float));
    if (!zb || !sc) return false;
    for (int64_t i = 0; i < n; i++) {
        int64_t z = -(int64_t)q->offsets[i];
        if (z < lo || z > hi || !isfinite(q->scales[i])) {
            ox_fail(x, ME_ERR_FORMAT, "tensor '%s': encoding %lld (scale %g, offset %d) is outside %s's range",
                    t->name, (long long)i, (double)q->scales[i], q->offsets[i], me_dtype_name(t->dtype));
            return false;
        }
        sc[i] = q->scales[i];
        if (esz == 0) zb[i / 2] |= (uint8_t)((z & 0xf) << ((i & 1) * 4));
        else if (esz == 1) zb[i] = (uint8_t)z;
        else if (esz == 2) { uint16_t v = (uint16_t)z; memcpy(zb + i * 2, &v, 2); }
        else { int32_t v = (int32_t)z; memcpy(zb + i * 4, &v, 4); }
    }
    int64_t dims[1] = {n};
    int rank = per_axis ? 1 : 0;
    *scale = const_bytes(x, node_base(x, "scale"), OX_FLOAT, rank, dims, sc, (size_t)n * 4);
    *zp = const_bytes(x, node_base(x, "zero_point"), ox_onnx_type(t->dtype), rank, dims, zb, zbytes);
    return x->st == ME_OK;
}

/* DequantizeLinear(value) with t's encoding; `axis` is the per-axis axis in
 * value's layout. */
static const char *dequantize(ox *x, const me_tensor *t, const char *value, int axis) {
    const char *scale, *zp;
    if (!qparams(x, t, &scale, &zp)) return "";
    const char *o = ox_tmp(x, node_base(x, "dq"));
    const char *in[3] = {value, scale, zp};
    ox_op(x, "DequantizeLinear", in, 3, &o, 1);
    if (t->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET) ox_attr_int(x, "axis", axis);
    return o;
}

static void quantize_into(ox *x, const me_tensor *t, const char *value, const char *out) {
    const char *scale, *zp;
    if (!qparams(x, t, &scale, &zp)) return;
    const char *in[3] = {value, scale, zp};
    ox_op(x, "QuantizeLinear", in, 3, &out, 1);
    if (t->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET) ox_attr_int(x, "axis", t->qenc->axis);
}

/* ---------------------------------------------------------------- IR values */

static const me_tensor *tensor_at(ox *x, int t) {
    if (t < 0 || t >= x->g->n_tensors) {
        ox_fail(x, ME_ERR_FORMAT, "tensor index %d is out of range", t);
        return NULL;
    }
    return &x->g->tensors[t];
}

static bool static_init(ox *x, int t, const char *name, const int *perm) {
    const me_tensor *tt = &x->g->tensors[t];
    int ot = ox_onnx_type(tt->dtype);
    if (!ot) {
        ox_fail(x, ME_ERR_UNSUPPORTED, "static tensor '%s' of dtype %s has no ONNX form", tt->name,
                me_dtype_name(tt->dtype));
        return false;
    }
    if ((ot == OX_INT4 || ot == OX_UINT4) && x->opset < 21) {
        ox_fail(x, ME_ERR_INTERNAL, "4-bit tensor '%s' needs opset 21", tt->name);
        return false;
    }
    int64_t numel = me_tensor_numel(tt);
    size_t want = (ot == OX_INT4 || ot == OX_UINT4) ? (size_t)(numel + 1) / 2 : me_tensor_nbytes(tt);
    if (numel < 0 || (numel > 0 && !tt->data) || tt->nbytes < want) {
        ox_fail(x, ME_ERR_FORMAT, "static tensor '%s' holds %zu bytes, its shape needs %zu", tt->name, tt->nbytes,
                want);
        return false;
    }
    int64_t dims[ME_MAX_RANK];
    for (int i = 0; i < tt->rank; i++) dims[i] = perm ? tt->dims[perm[i]] : tt->dims[i];
    ox_init *in = new_init(x, name, ot, tt->rank, dims);
    if (!in) return false;
    in->data = tt->data;
    in->nbytes = want;
    if (perm) {
        in->permuted = true;
        in->src_bits = (ot == OX_INT4 || ot == OX_UINT4) ? 4 : (int)me_dtype_size(tt->dtype) * 8;
        for (int i = 0; i < tt->rank; i++) {
            in->src_dims[i] = tt->dims[i];
            in->perm[i] = perm[i];
        }
    }
    return true;
}

const char *ox_raw(ox *x, int t) {
    const me_tensor *tt = tensor_at(x, t);
    if (!tt || x->st) return "";
    if (x->raw[t]) return x->raw[t];
    if (tt->flags & ME_TF_STATIC) {
        name_add(x, tt->name);
        if (!static_init(x, t, tt->name, NULL)) return "";
        x->raw[t] = tt->name;
        return tt->name;
    }
    ox_fail(x, ME_ERR_FORMAT, "tensor '%s' is used before it is produced", tt->name);
    return "";
}

const char *ox_float(ox *x, int t) {
    const me_tensor *tt = tensor_at(x, t);
    if (!tt || x->st) return "";
    if (x->flt[t]) return x->flt[t];
    const char *r = ox_raw(x, t);
    if (x->st) return "";
    x->flt[t] = ox_is_quantised(tt) ? dequantize(x, tt, r, tt->qenc->axis) : r;
    return x->flt[t];
}

const char *ox_float_perm(ox *x, int t, const int *perm) {
    const me_tensor *tt = tensor_at(x, t);
    if (!tt || x->st) return "";
    bool identity = true;
    for (int i = 0; i < tt->rank; i++) identity = identity && perm[i] == i;
    if (identity) return ox_float(x, t);
    if (!(tt->flags & ME_TF_STATIC)) {
        int64_t p[ME_MAX_RANK];
        for (int i = 0; i < tt->rank; i++) p[i] = perm[i];
        return ox_transpose(x, ox_float(x, t), p, tt->rank);
    }
    char *base = me_arena_printf(&x->arena, "%s_relayout", tt->name);
    if (!base) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return ""; }
    const char *name = ox_tmp(x, base);
    if (!static_init(x, t, name, perm)) return "";
    if (!ox_is_quantised(tt)) return name;
    int axis = 0;
    for (int i = 0; i < tt->rank; i++)
        if (perm[i] == tt->qenc->axis) axis = i;
    return dequantize(x, tt, name, axis);
}

const char *ox_out(ox *x, int t) {
    const me_tensor *tt = tensor_at(x, t);
    if (!tt || x->st) return "";
    if (x->raw[t] || x->pending[t]) {
        ox_fail(x, ME_ERR_FORMAT, "tensor '%s' is produced twice", tt->name);
        return "";
    }
    name_add(x, tt->name);
    if (!ox_is_quantised(tt)) {
        x->raw[t] = tt->name;
        return tt->name;
    }
    char *base = me_arena_printf(&x->arena, "%s_float", tt->name);
    if (!base) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return ""; }
    x->pending[t] = ox_tmp(x, base);
    return x->pending[t];
}

void ox_out_done(ox *x, int t) {
    const me_tensor *tt = tensor_at(x, t);
    if (!tt || x->st || !x->pending[t]) return;
    quantize_into(x, tt, x->pending[t], tt->name);
    x->pending[t] = NULL;
    x->raw[t] = tt->name;
}

void ox_dequantize_into(ox *x, int from, int t) {
    const me_tensor *ft = tensor_at(x, from), *tt = tensor_at(x, t);
    if (!ft || !tt || x->st) return;
    const char *r = ox_raw(x, from);
    const char *o = ox_out(x, t);
    const char *scale, *zp;
    if (x->st || !qparams(x, ft, &scale, &zp)) return;
    const char *in[3] = {r, scale, zp};
    ox_op(x, "DequantizeLinear", in, 3, &o, 1);
    if (ft->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET) ox_attr_int(x, "axis", ft->qenc->axis);
    ox_out_done(x, t);
}

void ox_set_out(ox *x, int t, const char *value) {
    const me_tensor *tt = tensor_at(x, t);
    if (!tt || x->st) return;
    if (!ox_is_quantised(tt)) {
        const char *o = ox_out(x, t);
        ox_op(x, "Identity", &value, 1, &o, 1);
        return;
    }
    if (x->raw[t] || x->pending[t]) {
        ox_fail(x, ME_ERR_FORMAT, "tensor '%s' is produced twice", tt->name);
        return;
    }
    name_add(x, tt->name);
    quantize_into(x, tt, value, tt->name);
    x->raw[t] = tt->name;
}
