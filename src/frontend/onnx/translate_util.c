/* Helpers shared by the element-wise, conv and shape translators. */
#include "translate_util.h"

#include <string.h>

#include "../../core/util.h"

me_dtype mt_compute_dtype(int onnx_type) {
    me_dtype dt = onnx_to_me_dtype(onnx_type);
    if (dt == ME_DT_F16 || dt == ME_DT_BF16) return ME_DT_F32;
    if (dt == ME_DT_F64 || dt == ME_DT_I4 || dt == ME_DT_U4) return ME_DT_UNDEFINED;
    return dt;
}

me_status mt_axis(mo_ctx *c, const onnx_node *n, int64_t axis, int rank, int *out) {
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank > 0 ? rank : 1))
        return mo_error(c, n, ME_ERR_FORMAT, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)a;
    return ME_OK;
}

static void store_value(me_dtype dt, double v, uint8_t *p) {
    switch (dt) {
    case ME_DT_F32: { float f = (float)v; memcpy(p, &f, 4); break; }
    case ME_DT_F64: memcpy(p, &v, 8); break;
    case ME_DT_F16: { uint16_t h = me_f32_to_f16((float)v); memcpy(p, &h, 2); break; }
    case ME_DT_BF16: { uint16_t h = me_f32_to_bf16((float)v); memcpy(p, &h, 2); break; }
    case ME_DT_I64: { int64_t x = (int64_t)v; memcpy(p, &x, 8); break; }
    case ME_DT_U64: { uint64_t x = (uint64_t)v; memcpy(p, &x, 8); break; }
    case ME_DT_I32: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
    case ME_DT_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    case ME_DT_I16: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
    case ME_DT_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case ME_DT_I8: *(int8_t *)p = (int8_t)v; break;
    case ME_DT_U8: *p = (uint8_t)v; break;
    case ME_DT_BOOL: *p = v != 0; break;
    default: break;
    }
}

int mt_scalar(mo_ctx *c, me_dtype dt, double v) {
    uint8_t buf[16] = {0};
    store_value(dt, v, buf);
    return mo_const(c, "scalar", dt, 0, NULL, buf);
}

int mt_fill(mo_ctx *c, me_dtype dt, int rank, const int64_t *dims, double v) {
    int64_t numel = me_shape_numel(rank, dims);
    size_t es = me_dtype_size(dt);
    if (numel < 0 || es == 0 || numel > ME_MAX_TENSOR_BYTES / (int64_t)es) {
        me_diag_add(mo_diag(c), "cannot create a constant of %lld elements", (long long)numel);
        return -1;
    }
    int t = mo_const(c, "fill", dt, rank, dims, NULL);
    if (t < 0) return -1;
    uint8_t *p = (uint8_t *)mo_t(c, t)->data;
    uint8_t one[16] = {0};
    store_value(dt, v, one);
    for (int64_t i = 0; i < numel; i++) memcpy(p + (size_t)i * es, one, es);
    return t;
}

me_status mt_u32s(mo_ctx *c, int node, const char *name, int count, const int64_t *vals) {
    int64_t dims[1] = {count};
    me_status st = me_node_set_tensor_int(mo_graph(c), node, name, ME_DT_U32, 1, dims, vals);
    if (st != ME_OK) me_diag_add(mo_diag(c), "cannot set param '%s'", name);
    return st;
}

me_status mt_pad_amount(mo_ctx *c, int node, int n_axes, const int64_t *before, const int64_t *after) {
    int64_t v[2 * ME_MAX_RANK];
    for (int i = 0; i < n_axes; i++) {
        v[2 * i] = before[i];
        v[2 * i + 1] = after[i];
    }
    int64_t dims[2] = {n_axes, 2};
    me_status st = me_node_set_tensor_int(mo_graph(c), node, "pad_amount", ME_DT_U32, 2, dims, v);
    if (st != ME_OK) me_diag_add(mo_diag(c), "cannot set param 'pad_amount'");
    return st;
}

int mt_finish1(mo_ctx *c, int node) {
    if (node < 0) return -1;
    int out;
    if (mo_finish(c, node, &out) != ME_OK) return -1;
    return out;
}

int mt_reduce(mo_ctx *c, const onnx_node *n, me_op_id op, int x, const int64_t *axes, int n_axes, bool keep,
              const char *suffix) {
    int node = mo_node(c, n, op, &x, 1, 1, suffix);
    if (node < 0) return -1;
    if (mt_u32s(c, node, "axes", n_axes, axes) != ME_OK) return -1;
    if (me_node_set_scalar_bool(mo_graph(c), node, "keep_dims", keep) != ME_OK) return -1;
    return mt_finish1(c, node);
}

int mt_strided_slice(mo_ctx *c, const onnx_node *n, int x, const int64_t *begin, const int64_t *end,
                     const int64_t *step, const char *suffix) {
    int rank = mo_t(c, x)->rank;
    int64_t r[3 * ME_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        r[3 * i] = begin[i];
        r[3 * i + 1] = end[i];
        r[3 * i + 2] = step[i];
    }
    int node = mo_node(c, n, ME_OP_STRIDED_SLICE, &x, 1, 1, suffix);
    if (node < 0) return -1;
    int64_t dims[2] = {rank, 3};
    if (me_node_set_tensor_int(mo_graph(c), node, "ranges", ME_DT_I32, 2, dims, r) != ME_OK) return -1;
    return mt_finish1(c, node);
}

int mt_concat(mo_ctx *c, const onnx_node *n, const int *ins, int n_in, int axis, const char *suffix) {
    int node = mo_node(c, n, ME_OP_CONCAT, ins, n_in, 1, suffix);
    if (node < 0) return -1;
    if (me_node_set_scalar_u32(mo_graph(c), node, "axis", (uint32_t)axis) != ME_OK) return -1;
    return mt_finish1(c, node);
}

me_status mt_bind(mo_ctx *c, const onnx_node *n, int i, int t) {
    if (t < 0) return ME_ERR_FORMAT;
    return mo_bind(c, n, i, t);
}

me_status mt_const_ints_n(mo_ctx *c, const onnx_node *n, int count, const int *inputs, int64_t **vals, int64_t *counts) {
    me_status first = ME_OK;
    for (int i = 0; i < count; i++) {
        vals[i] = NULL;
        counts[i] = -1;
        if (inputs[i] < 0 || mo_in(c, n, inputs[i]) < 0) continue;
        me_status st = mo_const_ints(c, n, inputs[i], &vals[i], &counts[i]);
        if (st != ME_OK && first == ME_OK) first = st;
    }
    return first;
}
