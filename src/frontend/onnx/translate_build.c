/* IR-building helpers shared by the nn/seq translators (see translate_build.h). */
#include "translate_build.h"

#include <string.h>

#include "../../core/util.h"

me_status mo_build_failed(mo_ctx *c, const onnx_node *n) {
    me_diag *d = mo_diag(c);
    if (d != NULL && d->count > 0) return ME_ERR_UNSUPPORTED;
    return mo_error(c, n, ME_ERR_INTERNAL, "could not build the IR for this node");
}

void *mo_build_alloc(mo_ctx *c, size_t n, size_t elem) {
    return me_arena_calloc(&mo_graph(c)->arena, n ? n : 1, elem);
}

/* Write v as one element of dtype dt; false for dtypes without a scalar form. */
static bool encode_scalar(me_dtype dt, double v, void *out) {
    switch (dt) {
    case ME_DT_F32: { float f = (float)v; memcpy(out, &f, 4); return true; }
    case ME_DT_F64: memcpy(out, &v, 8); return true;
    case ME_DT_F16: { uint16_t h = me_f32_to_f16((float)v); memcpy(out, &h, 2); return true; }
    case ME_DT_BF16: { uint16_t h = me_f32_to_bf16((float)v); memcpy(out, &h, 2); return true; }
    case ME_DT_I64: { int64_t x = (int64_t)v; memcpy(out, &x, 8); return true; }
    case ME_DT_I32: { int32_t x = (int32_t)v; memcpy(out, &x, 4); return true; }
    case ME_DT_I16: { int16_t x = (int16_t)v; memcpy(out, &x, 2); return true; }
    case ME_DT_I8: { int8_t x = (int8_t)v; memcpy(out, &x, 1); return true; }
    case ME_DT_U64: { uint64_t x = (uint64_t)v; memcpy(out, &x, 8); return true; }
    case ME_DT_U32: { uint32_t x = (uint32_t)v; memcpy(out, &x, 4); return true; }
    case ME_DT_U16: { uint16_t x = (uint16_t)v; memcpy(out, &x, 2); return true; }
    case ME_DT_U8: { uint8_t x = (uint8_t)v; memcpy(out, &x, 1); return true; }
    case ME_DT_BOOL: { uint8_t x = v != 0; memcpy(out, &x, 1); return true; }
    default: return false;
    }
}

int mo_build_scalar(mo_ctx *c, me_dtype dt, double v) {
    uint8_t *buf = mo_build_alloc(c, 1, 8);
    if (buf == NULL || !encode_scalar(dt, v, buf)) return -1;
    return mo_const(c, "scalar", dt, 0, NULL, buf);
}

int mo_build_const_f32(mo_ctx *c, const char *hint, int rank, const int64_t *dims, const float *vals) {
    int64_t numel = me_shape_numel(rank, dims);
    if (numel < 0 || numel > ME_MAX_TENSOR_BYTES / 4) return -1;
    float *buf = mo_build_alloc(c, (size_t)numel, sizeof(float));
    if (buf == NULL) return -1;
    if (numel > 0) memcpy(buf, vals, (size_t)numel * sizeof(float));
    return mo_const(c, hint, ME_DT_F32, rank, dims, buf);
}

int mo_build_fill_f32(mo_ctx *c, const char *hint, int rank, const int64_t *dims, float v) {
    int64_t numel = me_shape_numel(rank, dims);
    if (numel < 0 || numel > ME_MAX_TENSOR_BYTES / 4) return -1;
    float *buf = mo_build_alloc(c, (size_t)numel, sizeof(float));
    if (buf == NULL) return -1;
    for (int64_t i = 0; i < numel; i++) buf[i] = v;
    return mo_const(c, hint, ME_DT_F32, rank, dims, buf);
}

/* Finish a node with one output; -1 on failure. */
static int finish1(mo_ctx *c, int node) {
    int out = -1;
    if (node < 0) return -1;
    if (mo_finish(c, node, &out) != ME_OK) return -1;
    return out;
}

int mo_build_reduce(mo_ctx *c, const onnx_node *n, me_op_id op, int x, const int64_t *axes, int n_axes,
                    bool keep_dims, const char *suffix) {
    me_graph *g = mo_graph(c);
    int node = mo_node(c, n, op, &x, 1, 1, suffix);
    if (node < 0) return -1;
    int64_t dims[1] = {n_axes};
    if (me_node_set_tensor_int(g, node, "axes", ME_DT_U32, 1, dims, axes) != ME_OK ||
        me_node_set_scalar_bool(g, node, "keep_dims", keep_dims) != ME_OK)
        return -1;
    return finish1(c, node);
}

int mo_build_concat(mo_ctx *c, const onnx_node *n, const int *ins, int n_in, int axis, const char *suffix) {
    int node = mo_node(c, n, ME_OP_CONCAT, ins, n_in, 1, suffix);
    if (node < 0) return -1;
    if (me_node_set_scalar_u32(mo_graph(c), node, "axis", (uint32_t)axis) != ME_OK) return -1;
    return finish1(c, node);
}

me_status mo_build_split(mo_ctx *c, const onnx_node *n, int x, int axis, const int64_t *sizes, int n_parts,
                         int *outs, const char *suffix) {
    if (n_parts == 1) {
        outs[0] = x;
        return ME_OK;
    }
    int node = mo_node(c, n, ME_OP_SPLIT, &x, 1, n_parts, suffix);
    if (node < 0) return mo_build_failed(c, n);
    int64_t *starts = mo_build_alloc(c, (size_t)n_parts, sizeof(int64_t));
    if (starts == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    int64_t at = 0;
    for (int i = 0; i < n_parts - 1; i++) {
        at += sizes[i];
        starts[i] = at;
    }
    int64_t dims[1] = {n_parts - 1};
    me_graph *g = mo_graph(c);
    if (me_node_set_scalar_u32(g, node, "axis", (uint32_t)axis) != ME_OK ||
        me_node_set_tensor_int(g, node, "split_index", ME_DT_U32, 1, dims, starts) != ME_OK)
        return mo_build_failed(c, n);
    me_status st = mo_finish(c, node, outs);
    return st == ME_OK ? ME_OK : mo_build_failed(c, n);
}

int mo_build_slice(mo_ctx *c, const onnx_node *n, int x, int axis, int64_t begin, int64_t end,
                   const char *suffix) {
    const me_tensor *t = mo_t(c, x);
    int rank = t->rank;
    int64_t ranges[ME_MAX_RANK * 3];
    for (int i = 0; i < rank; i++) {
        ranges[i * 3 + 0] = i == axis ? begin : 0;
        ranges[i * 3 + 1] = i == axis ? end : t->dims[i];
        ranges[i * 3 + 2] = 1;
    }
    int node = mo_node(c, n, ME_OP_STRIDED_SLICE, &x, 1, 1, suffix);
    if (node < 0) return -1;
    int64_t dims[2] = {rank, 3};
    if (me_node_set_tensor_int(mo_graph(c), node, "ranges", ME_DT_I32, 2, dims, ranges) != ME_OK) return -1;
    return finish1(c, node);
}

int mo_build_matmul(mo_ctx *c, const onnx_node *n, int a, int b, bool transpose_a, bool transpose_b,
                    const char *suffix) {
    int ins[2] = {a, b};
    me_graph *g = mo_graph(c);
    int node = mo_node(c, n, ME_OP_MATMUL, ins, 2, 1, suffix);
    if (node < 0) return -1;
    if (me_node_set_scalar_bool(g, node, "transpose_in0", transpose_a) != ME_OK ||
        me_node_set_scalar_bool(g, node, "transpose_in1", transpose_b) != ME_OK)
        return -1;
    return finish1(c, node);
}

int mo_build_softmax(mo_ctx *c, const onnx_node *n, int x, int axis, const char *suffix) {
    me_graph *g = mo_graph(c);
    int node = mo_node(c, n, ME_OP_SOFTMAX, &x, 1, 1, suffix);
    if (node < 0) return -1;
    if (me_node_set_scalar_u32(g, node, "axis", (uint32_t)axis) != ME_OK ||
        me_node_set_scalar_f32(g, node, "beta", 1.0f) != ME_OK)
        return -1;
    return finish1(c, node);
}

int mo_build_tile(mo_ctx *c, const onnx_node *n, int x, const int64_t *multiples, const char *suffix) {
    int node = mo_node(c, n, ME_OP_TILE, &x, 1, 1, suffix);
    if (node < 0) return -1;
    int64_t dims[1] = {mo_t(c, x)->rank};
    if (me_node_set_tensor_int(mo_graph(c), node, "multiples", ME_DT_U32, 1, dims, multiples) != ME_OK)
        return -1;
    return finish1(c, node);
}

int mo_build_select(mo_ctx *c, const onnx_node *n, int cond, int a, int b, const char *suffix) {
    int ins[3] = {cond, a, b};
    return mo_emit1(c, n, ME_OP_SELECT, ins, 3, suffix);
}

int mo_build_clamp(mo_ctx *c, const onnx_node *n, int x, float lo, float hi, const char *suffix) {
    me_graph *g = mo_graph(c);
    int node = mo_node(c, n, ME_OP_RELU_MIN_MAX, &x, 1, 1, suffix);
    if (node < 0) return -1;
    if (me_node_set_scalar_f32(g, node, "min_value", lo) != ME_OK ||
        me_node_set_scalar_f32(g, node, "max_value", hi) != ME_OK)
        return -1;
    return finish1(c, node);
}

int mo_build_affine(mo_ctx *c, const onnx_node *n, int x, float a, float b, const char *suffix) {
    me_dtype dt = mo_t(c, x)->dtype;
    if (a != 1.0f) {
        int k = mo_build_scalar(c, dt, a);
        if (k < 0) return -1;
        x = mo_binary(c, n, ME_OP_MULTIPLY, x, k, suffix);
        if (x < 0) return -1;
    }
    if (b != 0.0f) {
        int k = mo_build_scalar(c, dt, b);
        if (k < 0) return -1;
        x = mo_binary(c, n, ME_OP_ADD, x, k, suffix);
    }
    return x;
}
