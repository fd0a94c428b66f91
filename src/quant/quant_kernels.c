/* Which nodes run on integer kernels, and the run/infer dispatch.
 * Op classes (docs/quantized-arithmetic.md §2):
 *   INT    integer kernels (qk_linear.c, qk_eltwise.c)
 *   LUT    unary ops through a table over every input code
 *   FLOAT  float-internal: dequantise, the float kernel, quantise
 *   MOVE   data movement: the dtype-agnostic float kernel moves codes; the
 *          output keeps the input encoding (float-internal if they differ) */
#include "quant_kernels.h"

#include <string.h>

#include "../ops/eltwise_util.h"
#include "qk_common.h"

typedef enum { QC_NONE = 0, QC_INT, QC_LUT, QC_FLOAT, QC_MOVE } qclass;

static qclass op_class(int op) {
    switch (op) {
    case ME_OP_CONV2D: case ME_OP_DEPTHWISE_CONV2D: case ME_OP_FULLY_CONNECTED: case ME_OP_MATMUL:
    case ME_OP_ADD: case ME_OP_SUBTRACT: case ME_OP_MULTIPLY:
    case ME_OP_RELU: case ME_OP_RELU_MIN_MAX:
    case ME_OP_POOL_MAX2D: case ME_OP_POOL_AVG2D: case ME_OP_CONCAT:
        return QC_INT;
    case ME_OP_SIGMOID: case ME_OP_TANH: case ME_OP_GELU: case ME_OP_HARD_SWISH: case ME_OP_ELU:
    case ME_OP_SOFTPLUS: case ME_OP_NEURON: case ME_OP_ERF: case ME_OP_EXP: case ME_OP_LOG: case ME_OP_SQRT:
    case ME_OP_RSQRT: case ME_OP_RECIPROCAL: case ME_OP_ABS: case ME_OP_NEG: case ME_OP_SIN: case ME_OP_COS:
        return QC_LUT;
    case ME_OP_SOFTMAX: case ME_OP_LOG_SOFTMAX: case ME_OP_LAYER_NORM: case ME_OP_RMS_NORM: case ME_OP_DIVIDE:
    case ME_OP_PAD:
        return QC_FLOAT;
    case ME_OP_RESHAPE: case ME_OP_TRANSPOSE: case ME_OP_SPLIT: case ME_OP_STRIDED_SLICE: case ME_OP_GATHER:
    case ME_OP_TILE: case ME_OP_DEPTH_TO_SPACE: case ME_OP_SPACE_TO_DEPTH:
        return QC_MOVE;
    default:
        return QC_NONE;
    }
}

bool me_op_quant_capable(int op) { return op_class(op) != QC_NONE; }

static bool is_qtensor(const me_tensor *t) { return t && t->qenc && !me_dtype_is_float(t->dtype); }

static bool same_act_enc(const me_tensor *a, const me_tensor *b) {
    return me_qk_is_qact(a) && me_qk_is_qact(b) && a->dtype == b->dtype &&
           me_qenc_scale(a->qenc, 0) == me_qenc_scale(b->qenc, 0) && me_qenc_offset(a->qenc, 0) == me_qenc_offset(b->qenc, 0);
}

static const me_tensor *tin(const me_graph *g, const me_node *n, int i) {
    return i < n->n_in && n->in[i] >= 0 && n->in[i] < g->n_tensors ? &g->tensors[n->in[i]] : NULL;
}

static bool bias_ok(const me_tensor *b) {
    if (!b) return true;
    if (!(b->flags & ME_TF_STATIC)) return false;
    if (b->dtype == ME_DT_F32) return !b->qenc;
    return (b->dtype == ME_DT_I32 || b->dtype == ME_DT_I8 || b->dtype == ME_DT_U8 || b->dtype == ME_DT_I16) && b->qenc &&
           (b->qenc->kind == ME_QENC_SCALE_OFFSET || b->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET) && b->qenc->scales;
}

bool me_op_has_quant_kernel(const me_graph *g, const me_node *n) {
    if (!g || !n || n->n_out < 1) return false;
    const me_tensor *x = tin(g, n, 0), *w = tin(g, n, 1), *b = tin(g, n, 2);
    const me_tensor *y = n->out[0] >= 0 && n->out[0] < g->n_tensors ? &g->tensors[n->out[0]] : NULL;
    switch (op_class(n->op)) {
    case QC_NONE: return false;
    case QC_MOVE:
        return me_qk_is_qact(x) && (!y->qenc || same_act_enc(x, y));
    case QC_LUT:
        return n->n_in == 1 && n->n_out == 1 && me_qk_is_qact(x) && me_qk_is_qact(y);
    case QC_FLOAT:
        if (!me_qk_is_qact(y) || !me_qk_is_qact(x)) return false;
        for (int i = 1; i < n->n_in; i++) {
            const me_tensor *t = tin(g, n, i);
            if (t && is_qtensor(t) && !me_qk_is_qact(t) && !me_qk_is_qweight(t, t->qenc->axis)) return false;
        }
        return true;
    case QC_INT: break;
    }
    if (!me_qk_is_qact(y)) return false;
    switch (n->op) {
    case ME_OP_CONV2D: case ME_OP_DEPTHWISE_CONV2D:
        return me_qk_is_qact(x) && me_qk_is_qweight(w, 3) && bias_ok(b);
    case ME_OP_FULLY_CONNECTED:
        return me_qk_is_qact(x) && me_qk_is_qweight(w, 0) && bias_ok(b);
    case ME_OP_MATMUL: {
        if (!me_qk_is_qact(x) || !w || !bias_ok(b)) return false;
        if (!(w->flags & ME_TF_STATIC)) return me_qk_is_qact(w);
        int waxis = me_param_int(n, "transpose_in1", 0) ? w->rank - 2 : w->rank - 1;
        if (!me_qk_is_qweight(w, waxis)) return false;
        return w->qenc->kind != ME_QENC_AXIS_SCALE_OFFSET || me_shape_numel(w->rank - 2, w->dims) == 1;
    }
    case ME_OP_ADD: case ME_OP_SUBTRACT: case ME_OP_MULTIPLY:
        return me_qk_is_qact(x) && me_qk_is_qact(w);
    case ME_OP_CONCAT:
        for (int i = 0; i < n->n_in; i++)
            if (!me_qk_is_qact(tin(g, n, i))) return false;
        return true;
    default:
        return me_qk_is_qact(x);
    }
}

static bool ctx_move_same(const me_kernel_ctx *k) {
    const me_tensor *x = k->in[0];
    for (int i = 0; i < k->n_out; i++) {
        /* an output of the same dtype without an encoding takes the codes as
         * they are (e.g. the copy that makes a quantised constant a graph output) */
        if (!k->out[i]->qenc && k->out[i]->dtype == x->dtype) continue;
        if (!same_act_enc(x, k->out[i])) return false;
    }
    return true;
}

static bool ctx_has_f16(const me_kernel_ctx *k) {
    for (int i = 0; i < k->n_in; i++)
        if (k->in[i] && k->in[i]->dtype == ME_DT_F16) return true;
    for (int i = 0; i < k->n_out; i++)
        if (k->out[i] && k->out[i]->dtype == ME_DT_F16) return true;
    return false;
}

me_status me_node_run(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    /* FP16 mode: data movement moves f16 as is; other ops load f16, compute
     * in f32 with their float kernel and store f16 */
    if (n->op != ME_OP_CAST && ctx_has_f16(k) && !me_qk_node_has_qtensor(k)) {
        if (op_class(n->op) == QC_MOVE || n->op == ME_OP_CONCAT) return me_opdefs[n->op]->run(k, d);
        return me_qk_run_float_internal(k, d);
    }
    if (n->op == ME_OP_QUANTIZE && me_qk_quantize_u8_ok(k)) return me_qk_quantize_u8(k, d); /* same codes, faster */
    if (n->op == ME_OP_QUANTIZE || n->op == ME_OP_DEQUANTIZE || n->op == ME_OP_CAST || !me_qk_node_has_qtensor(k))
        return me_opdefs[n->op]->run(k, d);
    switch (op_class(n->op)) {
    case QC_NONE:
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "no integer kernel for quantised tensors (needs a float fallback)");
    case QC_MOVE:
        if (ctx_move_same(k)) return me_opdefs[n->op]->run(k, d);
        return me_qk_run_float_internal(k, d);
    case QC_LUT:
        if (me_qk_is_qact(k->in[0]) && me_qk_is_qact(k->out[0])) return me_qk_lut(k, d);
        return me_qk_run_float_internal(k, d);
    case QC_FLOAT:
        return me_qk_run_float_internal(k, d);
    case QC_INT: break;
    }
    if (k->packed) return me_qk_run_packed(k, d); /* pre-packed A8W8 fast kernels (quant_pack.c) */
    if ((n->op == ME_OP_RELU || n->op == ME_OP_RELU_MIN_MAX) && me_qk_u8_unary(k)) return me_qk_clamp_u8(k, d);
    if (n->op == ME_OP_POOL_MAX2D && me_qk_u8_unary(k)) return me_qk_maxpool_u8(k, d);
    if (n->op == ME_OP_POOL_AVG2D && me_qk_u8_unary(k)) return me_qk_avgpool_u8(k, d);
    switch (n->op) {
    case ME_OP_CONV2D: return me_qk_conv2d(k, d);
    case ME_OP_DEPTHWISE_CONV2D: return me_qk_dwconv2d(k, d);
    case ME_OP_FULLY_CONNECTED: return me_qk_fully_connected(k, d);
    case ME_OP_MATMUL: return me_qk_matmul(k, d);
    case ME_OP_ADD: case ME_OP_SUBTRACT: case ME_OP_MULTIPLY: return me_qk_eltwise(k, d);
    case ME_OP_RELU: case ME_OP_RELU_MIN_MAX: return me_qk_clamp(k, d);
    case ME_OP_POOL_MAX2D: return me_qk_maxpool(k, d);
    case ME_OP_POOL_AVG2D: return me_qk_avgpool(k, d);
    case ME_OP_CONCAT: return me_qk_concat(k, d);
    default: return me_op_fail(d, ME_ERR_INTERNAL, n, "integer kernel table is incomplete");
    }
}

/* Shape inference of a quantised node: the op's float infer on a float view
 * of its quantised inputs (shapes do not depend on dtypes); each output keeps
 * the quantised dtype its creator gave it when it carries an encoding. */
me_status me_node_infer(me_graph *g, me_node *n, me_diag *d) {
    const me_opdef *def = me_opdefs[n->op];
    bool quant = false, f16 = false;
    for (int i = 0; i < n->n_in; i++) {
        const me_tensor *t = tin(g, n, i);
        quant |= is_qtensor(t);
        f16 |= t && t->dtype == ME_DT_F16;
    }
    for (int i = 0; i < n->n_out; i++)
        f16 |= n->out[i] >= 0 && n->out[i] < g->n_tensors && g->tensors[n->out[i]].dtype == ME_DT_F16;
    if (n->op == ME_OP_QUANTIZE || n->op == ME_OP_DEQUANTIZE || n->op == ME_OP_CAST ||
        (!f16 && (!quant || op_class(n->op) == QC_NONE)))
        return def->infer(g, n, d);
    if (!quant && (op_class(n->op) == QC_MOVE || n->op == ME_OP_CONCAT)) return def->infer(g, n, d);
    if (op_class(n->op) == QC_MOVE) {
        me_status st = def->infer(g, n, d);
        const me_tensor *x = tin(g, n, 0);
        if (st == ME_OK)
            for (int i = 0; i < n->n_out; i++) {
                me_tensor *y = &g->tensors[n->out[i]];
                if (!y->qenc && y->dtype == x->dtype) y->qenc = x->qenc; /* encoding passes through */
            }
        return st;
    }
    enum { MAXIO = 64 };
    if (n->n_in > MAXIO || n->n_out > MAXIO)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "too many inputs or outputs for a quantised node");
    me_dtype in_dt[MAXIO], out_dt[MAXIO];
    for (int i = 0; i < n->n_in; i++) {
        me_tensor *t = n->in[i] >= 0 && n->in[i] < g->n_tensors ? &g->tensors[n->in[i]] : NULL;
        in_dt[i] = t ? t->dtype : ME_DT_UNDEFINED;
        if (is_qtensor(t) || (t && t->dtype == ME_DT_F16)) t->dtype = ME_DT_F32;
    }
    for (int i = 0; i < n->n_out; i++)
        out_dt[i] = n->out[i] >= 0 && n->out[i] < g->n_tensors ? g->tensors[n->out[i]].dtype : ME_DT_UNDEFINED;
    me_status st = def->infer(g, n, d);
    /* in reverse: a tensor read twice (Mul(x, x)) gets its first, real dtype back */
    for (int i = n->n_in - 1; i >= 0; i--)
        if (n->in[i] >= 0 && n->in[i] < g->n_tensors) g->tensors[n->in[i]].dtype = in_dt[i];
    if (st != ME_OK) return st;
    for (int i = 0; i < n->n_out; i++) {
        me_tensor *y = &g->tensors[n->out[i]];
        int64_t lo, hi;
        if (y->qenc && me_qdtype_range(out_dt[i], &lo, &hi)) y->dtype = out_dt[i];
        else if (out_dt[i] == ME_DT_F16 && y->dtype == ME_DT_F32) y->dtype = ME_DT_F16; /* FP16 storage */
    }
    return ME_OK;
}
