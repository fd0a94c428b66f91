/* ONNX QDQ writer: IR op -> ONNX ops. Each translation reads its inputs'
 * real values (ox_float), computes in float with ONNX ops laid out as the IR
 * is (NHWC, with Transposes around NCHW-only ONNX ops), and writes the result
 * through ox_out / ox_set_out, which add the QuantizeLinear of a quantised
 * output. */
#include <math.h>
#include <string.h>

#include "../../core/util.h"
#include "../../ops/fused_activation.h"
#include "../../ops/movement.h"
#include "../../ops/ops.h"
#include "ox.h"

static const me_tensor *tin(ox *x, const me_node *n, int i) {
    return (i < n->n_in && n->in[i] >= 0) ? &x->g->tensors[n->in[i]] : NULL;
}
static const me_tensor *tout(ox *x, const me_node *n, int i) { return &x->g->tensors[n->out[i]]; }
static const char *fin(ox *x, const me_node *n, int i) { return ox_float(x, n->in[i]); }

static bool need_inputs(ox *x, const me_node *n, int k) {
    if (n->n_in < k || n->n_out < 1) {
        ox_fail(x, ME_ERR_FORMAT, "expected at least %d inputs and one output", k);
        return false;
    }
    for (int i = 0; i < k; i++)
        if (n->in[i] < 0) {
            ox_fail(x, ME_ERR_FORMAT, "input %d is missing", i);
            return false;
        }
    return true;
}

/* Integer tensor param values (NULL if absent or not `count` long). */
static const int64_t *ints_param(const me_node *n, const char *name, int64_t count) {
    const me_param *p = me_node_param(n, name);
    if (!p || p->kind != ME_PARAM_TENSOR || !p->ivals || p->count != count) return NULL;
    return p->ivals;
}

static const char *unsupported(ox *x, const char *why) {
    ox_fail(x, ME_ERR_UNSUPPORTED, "%s", why);
    return "";
}

/* op(in...) -> output 0 */
static void simple(ox *x, const me_node *n, const char *op, int k) {
    if (!need_inputs(x, n, k)) return;
    const char *in[4];
    for (int i = 0; i < k; i++) in[i] = fin(x, n, i);
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, op, in, k, &o, 1);
    ox_out_done(x, n->out[0]);
}

static const char *gelu(ox *x, const char *v);

static const char *fused_activation(ox *x, const me_node *n, const char *v) {
    int64_t act = me_param_int(n, "activation", ME_FUSED_ACT_NONE);
    if (act == ME_FUSED_ACT_RELU) return ox_op1(x, "Relu", v);
    if (act == ME_FUSED_ACT_SILU) return ox_op2(x, "Mul", v, ox_op1(x, "Sigmoid", v));
    if (act == ME_FUSED_ACT_GELU) return gelu(x, v);
    if (act == ME_FUSED_ACT_HARD_SWISH) return ox_op1(x, "HardSwish", v);
    if (act == ME_FUSED_ACT_RELU_MIN_MAX) {
        const char *in[3] = {v, ox_const_f32_scalar(x, (float)me_param_float(n, "activation_min", 0.0)),
                             ox_const_f32_scalar(x, (float)me_param_float(n, "activation_max", 0.0))};
        const char *o = ox_node_tmp(x, "clip");
        ox_op(x, "Clip", in, 3, &o, 1);
        return o;
    }
    if (act != ME_FUSED_ACT_NONE) ox_fail(x, ME_ERR_UNSUPPORTED, "unknown fused activation %lld", (long long)act);
    return v;
}

static const int64_t to_nchw[4] = {0, 3, 1, 2}, to_nhwc[4] = {0, 2, 3, 1};

/* Channel-last <-> channel-first perms of any rank >= 2. */
static void cl_to_cf(int r, int64_t *p) {
    p[0] = 0;
    p[1] = r - 1;
    for (int i = 2; i < r; i++) p[i] = i - 1;
}
static void cf_to_cl(int r, int64_t *p) {
    p[0] = 0;
    for (int i = 1; i < r - 1; i++) p[i] = i + 1;
    p[r - 1] = 1;
}

/* pad_amount [[t, b], [l, r]] -> ONNX pads [t, l, b, r] */
static bool onnx_pads2(ox *x, const me_node *n, int64_t *pads) {
    const int64_t *p = ints_param(n, "pad_amount", 4);
    if (!p) {
        ox_fail(x, ME_ERR_FORMAT, "pad_amount must be [2, 2]");
        return false;
    }
    pads[0] = p[0], pads[1] = p[2], pads[2] = p[1], pads[3] = p[3];
    return true;
}

static const int64_t ones2[2] = {1, 1};

static void conv(ox *x, const me_node *n, bool depthwise) {
    if (!need_inputs(x, n, 2)) return;
    const me_tensor *xt = tin(x, n, 0), *wt = tin(x, n, 1);
    if (xt->rank != 4 || wt->rank != 4) {
        ox_fail(x, ME_ERR_FORMAT, "input and weights must be 4-D");
        return;
    }
    const int64_t *stride = ints_param(n, "stride", 2), *dil = ints_param(n, "dilation", 2);
    int64_t pads[4];
    if (!stride || !onnx_pads2(x, n, pads)) {
        ox_fail(x, ME_ERR_FORMAT, "stride must be [2]");
        return;
    }
    static const int hwio_to_oihw[4] = {3, 2, 0, 1};
    const char *in[3] = {ox_transpose(x, fin(x, n, 0), to_nchw, 4), ox_float_perm(x, n->in[1], hwio_to_oihw), NULL};
    int k = 2;
    if (tin(x, n, 2)) in[k++] = fin(x, n, 2);
    const char *y = ox_node_tmp(x, "conv");
    ox_op(x, "Conv", in, k, &y, 1);
    int64_t ks[2] = {wt->dims[0], wt->dims[1]};
    ox_attr_ints(x, "kernel_shape", ks, 2);
    ox_attr_ints(x, "strides", stride, 2);
    ox_attr_ints(x, "pads", pads, 4);
    ox_attr_ints(x, "dilations", dil ? dil : ones2, 2);
    ox_attr_int(x, "group", depthwise ? xt->dims[3] : me_param_int(n, "group", 1));
    y = fused_activation(x, n, y);
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "Transpose", &y, 1, &o, 1);
    ox_attr_ints(x, "perm", to_nhwc, 4);
    ox_out_done(x, n->out[0]);
}

static void transpose_conv(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 2)) return;
    const me_tensor *xt = tin(x, n, 0), *wt = tin(x, n, 1), *yt = tout(x, n, 0);
    if (xt->rank != 4 || wt->rank != 4) {
        ox_fail(x, ME_ERR_FORMAT, "input and weights must be 4-D");
        return;
    }
    const int64_t *stride = ints_param(n, "stride", 2), *dil = ints_param(n, "dilation", 2),
                  *opad = ints_param(n, "output_padding", 2);
    int64_t pads[4];
    if (!stride || !onnx_pads2(x, n, pads)) {
        ox_fail(x, ME_ERR_FORMAT, "stride must be [2]");
        return;
    }
    static const int hwio_to_iohw[4] = {2, 3, 0, 1};
    const char *in[3] = {ox_transpose(x, fin(x, n, 0), to_nchw, 4), ox_float_perm(x, n->in[1], hwio_to_iohw), NULL};
    int k = 2;
    if (tin(x, n, 2)) in[k++] = fin(x, n, 2);
    const char *y = ox_node_tmp(x, "convtranspose");
    ox_op(x, "ConvTranspose", in, k, &y, 1);
    int64_t ks[2] = {wt->dims[0], wt->dims[1]};
    static const int64_t zeros2[2] = {0, 0};
    ox_attr_ints(x, "kernel_shape", ks, 2);
    ox_attr_ints(x, "strides", stride, 2);
    ox_attr_ints(x, "pads", pads, 4);
    ox_attr_ints(x, "dilations", dil ? dil : ones2, 2);
    ox_attr_ints(x, "output_padding", opad ? opad : zeros2, 2);
    ox_attr_int(x, "group", me_param_int(n, "group", 1));
    (void)yt;
    y = fused_activation(x, n, y);
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "Transpose", &y, 1, &o, 1);
    ox_attr_ints(x, "perm", to_nhwc, 4);
    ox_out_done(x, n->out[0]);
}

static void pool(ox *x, const me_node *n, bool is_max) {
    if (!need_inputs(x, n, 1)) return;
    if (tin(x, n, 0)->rank != 4) {
        ox_fail(x, ME_ERR_FORMAT, "input must be 4-D");
        return;
    }
    const int64_t *f = ints_param(n, "filter_size", 2), *stride = ints_param(n, "stride", 2),
                  *dil = ints_param(n, "dilation", 2);
    int64_t pads[4];
    if (!f || !stride || !onnx_pads2(x, n, pads)) {
        ox_fail(x, ME_ERR_FORMAT, "filter_size and stride must be [2]");
        return;
    }
    bool dilated = dil && (dil[0] != 1 || dil[1] != 1);
    if (dilated && !is_max && x->opset < 19) {
        ox_fail(x, ME_ERR_INTERNAL, "a dilated average pool needs opset 19");
        return;
    }
    const char *y = ox_op1(x, is_max ? "MaxPool" : "AveragePool", ox_transpose(x, fin(x, n, 0), to_nchw, 4));
    ox_attr_ints(x, "kernel_shape", f, 2);
    ox_attr_ints(x, "strides", stride, 2);
    ox_attr_ints(x, "pads", pads, 4);
    ox_attr_int(x, "ceil_mode", me_param_int(n, "rounding_mode", 0));
    if (is_max || dilated) ox_attr_ints(x, "dilations", dil ? dil : ones2, 2);
    if (!is_max) ox_attr_int(x, "count_include_pad", me_param_int(n, "count_pad_for_edges", 0));
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "Transpose", &y, 1, &o, 1);
    ox_attr_ints(x, "perm", to_nhwc, 4);
    ox_out_done(x, n->out[0]);
}

static const char *reshape_to(ox *x, const char *v, int rank, const int64_t *dims) {
    return ox_op2(x, "Reshape", v, ox_const_i64(x, dims, rank));
}

static void fully_connected(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 2)) return;
    const me_tensor *xt = tin(x, n, 0), *wt = tin(x, n, 1), *yt = tout(x, n, 0);
    if (xt->rank < 2 || wt->rank != 2) {
        ox_fail(x, ME_ERR_FORMAT, "input rank must be >= 2 and weights 2-D");
        return;
    }
    const char *a = fin(x, n, 0);
    int64_t nfeat = xt->dims[xt->rank - 1];
    if (xt->rank != 2) {
        int64_t dims2[2] = {me_shape_numel(xt->rank - 1, xt->dims), nfeat};
        a = reshape_to(x, a, 2, dims2);
    }
    const char *in[3] = {a, fin(x, n, 1), NULL};
    int k = 2;
    if (tin(x, n, 2)) in[k++] = fin(x, n, 2);
    const char *y = ox_node_tmp(x, "gemm");
    ox_op(x, "Gemm", in, k, &y, 1);
    ox_attr_int(x, "transB", 1);
    y = fused_activation(x, n, y);
    if (yt->rank != 2) y = reshape_to(x, y, yt->rank, yt->dims);
    ox_set_out(x, n->out[0], y);
}

static const char *swap_last2(ox *x, const char *v, int rank) {
    int64_t p[ME_MAX_RANK];
    for (int i = 0; i < rank; i++) p[i] = i;
    p[rank - 2] = rank - 1;
    p[rank - 1] = rank - 2;
    return ox_transpose(x, v, p, rank);
}

static void matmul(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 2)) return;
    const me_tensor *at = tin(x, n, 0), *bt = tin(x, n, 1);
    if (at->rank < 2 || bt->rank < 2) {
        ox_fail(x, ME_ERR_FORMAT, "operands must have rank >= 2");
        return;
    }
    const char *a = fin(x, n, 0), *b;
    if (me_param_int(n, "transpose_in0", 0)) a = swap_last2(x, a, at->rank);
    if (me_param_int(n, "transpose_in1", 0)) {
        int p[ME_MAX_RANK];
        for (int i = 0; i < bt->rank; i++) p[i] = i;
        p[bt->rank - 2] = bt->rank - 1;
        p[bt->rank - 1] = bt->rank - 2;
        b = ox_float_perm(x, n->in[1], p);
    } else {
        b = fin(x, n, 1);
    }
    const char *y = ox_op2(x, "MatMul", a, b);
    if (tin(x, n, 2)) y = ox_op2(x, "Add", y, fin(x, n, 2));
    y = fused_activation(x, n, y);
    ox_set_out(x, n->out[0], y);
}

/* Attention (ops/attention.c) written out again: MatMul, Mul, Add / Where,
 * Softmax over the last axis, MatMul. */
static void attention(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 3)) return;
    int r = tin(x, n, 0)->rank;
    int64_t mode = me_param_int(n, "mask_mode", 0);
    if (mode < 0 || mode > 3 || (mode && !need_inputs(x, n, mode == 1 ? 4 : 5))) {
        if (mode < 0 || mode > 3) unsupported(x, "unknown Attention mask_mode");
        return;
    }
    const char *k = fin(x, n, 1), *v = fin(x, n, 2);
    if (me_param_int(n, "transpose_k", 0)) k = swap_last2(x, k, r);
    if (me_param_int(n, "transpose_v", 0)) v = swap_last2(x, v, r);
    const char *s = ox_op2(x, "MatMul", fin(x, n, 0), k);
    double scale = me_param_float(n, "scale", 1.0);
    if (scale != 1.0) s = ox_op2(x, "Mul", s, ox_const_f32_scalar(x, (float)scale));
    if (mode == 1) {
        s = ox_op2(x, "Add", s, fin(x, n, 3));
    } else if (mode >= 2) {
        const char *in[3] = {fin(x, n, 3), mode == 2 ? fin(x, n, 4) : s, mode == 2 ? s : fin(x, n, 4)};
        const char *w = ox_node_tmp(x, "where");
        ox_op(x, "Where", in, 3, &w, 1);
        s = w;
    }
    const char *p = ox_node_tmp(x, "softmax");
    ox_op(x, "Softmax", &s, 1, &p, 1);
    ox_attr_int(x, "axis", r - 1);
    ox_set_out(x, n->out[0], ox_op2(x, "MatMul", p, v));
}

/* Sorted, distinct, trailing axes [r-m, r)? Returns the first axis or -1. */
static int trailing_axes(const me_node *n, int rank, int64_t *m_out) {
    const me_param *p = me_node_param(n, "axes");
    if (!p || p->kind != ME_PARAM_TENSOR || !p->ivals || p->count < 1 || p->count > rank) return -1;
    int64_t m = p->count;
    bool seen[ME_MAX_RANK] = {false};
    for (int64_t i = 0; i < m; i++) {
        int64_t a = p->ivals[i];
        if (a < rank - m || a >= rank || seen[a]) return -1;
        seen[a] = true;
    }
    *m_out = m;
    return (int)(rank - m);
}

static void layer_norm(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_tensor *xt = tin(x, n, 0);
    int64_t m;
    int axis = trailing_axes(n, xt->rank, &m);
    if (axis < 0) {
        unsupported(x, "LayerNormalization needs the normalised axes to be the trailing ones");
        return;
    }
    const char *in[3] = {fin(x, n, 0), NULL, NULL};
    if (tin(x, n, 1)) {
        in[1] = fin(x, n, 1);
    } else {
        int64_t cnt = me_shape_numel((int)m, xt->dims + axis);
        float *ones = me_arena_calloc(&x->arena, (size_t)(cnt > 0 ? cnt : 1), sizeof(float));
        if (!ones) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return; }
        for (int64_t i = 0; i < cnt; i++) ones[i] = 1.0f;
        in[1] = ox_const_f32(x, ones, (int)m, xt->dims + axis);
    }
    int k = 2;
    if (tin(x, n, 2)) in[k++] = fin(x, n, 2);
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "LayerNormalization", in, k, &o, 1);
    ox_attr_int(x, "axis", axis);
    ox_attr_float(x, "epsilon", (float)me_param_float(n, "epsilon", 0.001));
    ox_out_done(x, n->out[0]);
}

/* ReduceXxx with axes and keepdims, as the opset wants them. */
static const char *reduce(ox *x, const char *op, const char *v, const int64_t *axes, int m, bool keep) {
    bool axes_input = strcmp(op, "ReduceSum") == 0 || x->opset >= 18;
    const char *o = ox_node_tmp(x, "reduce");
    if (axes_input) {
        const char *in[2] = {v, ox_const_i64(x, axes, m)};
        ox_op(x, op, in, 2, &o, 1);
    } else {
        ox_op(x, op, &v, 1, &o, 1);
        ox_attr_ints(x, "axes", axes, m);
    }
    ox_attr_int(x, "keepdims", keep);
    return o;
}

static void rms_norm(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_param *p = me_node_param(n, "axes");
    if (!p || !p->ivals || p->count < 1) {
        ox_fail(x, ME_ERR_FORMAT, "axes are missing");
        return;
    }
    const char *v = fin(x, n, 0);
    const char *ms = reduce(x, "ReduceMean", ox_op2(x, "Mul", v, v), p->ivals, (int)p->count, true);
    const char *den = ox_op1(x, "Sqrt", ox_op2(x, "Add", ms, ox_const_f32_scalar(x, (float)me_param_float(n, "epsilon", 1e-6))));
    const char *y = ox_op2(x, "Div", v, den);
    if (tin(x, n, 1)) y = ox_op2(x, "Mul", y, fin(x, n, 1));
    if (tin(x, n, 2)) y = ox_op2(x, "Add", y, fin(x, n, 2));
    ox_set_out(x, n->out[0], y);
}

static const char *filled(ox *x, int64_t count, float v) {
    float *buf = me_arena_calloc(&x->arena, (size_t)(count > 0 ? count : 1), sizeof(float));
    if (!buf) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return ""; }
    for (int64_t i = 0; i < count; i++) buf[i] = v;
    return ox_const_f32(x, buf, 1, &count);
}

static void instance_norm(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 2)) return;
    const me_tensor *xt = tin(x, n, 0);
    int r = xt->rank;
    if (r < 3 || me_param_int(n, "mode", 0) != 0 || me_param_int(n, "normalize_variance", 1) != 1 ||
        me_param_int(n, "region", 0) != 0) {
        unsupported(x, "only mode MU_SIGMA, normalize_variance 1 and region ACROSS_SPATIAL of rank >= 3 are written");
        return;
    }
    int64_t p[ME_MAX_RANK];
    cl_to_cf(r, p);
    const char *in[3] = {ox_transpose(x, fin(x, n, 0), p, r), fin(x, n, 1),
                         tin(x, n, 2) ? fin(x, n, 2) : filled(x, xt->dims[r - 1], 0.0f)};
    const char *y = ox_node_tmp(x, "instnorm");
    ox_op(x, "InstanceNormalization", in, 3, &y, 1);
    ox_attr_float(x, "epsilon", (float)me_param_float(n, "epsilon", 1e-12));
    cf_to_cl(r, p);
    ox_set_out(x, n->out[0], ox_transpose(x, y, p, r));
}

/* GroupNorm: channel-first view [N, G, rest] normalised by InstanceNormalization. */
static void group_norm(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_tensor *xt = tin(x, n, 0);
    int r = xt->rank;
    int64_t c = xt->dims[r - 1], grp = me_param_int(n, "group", 1);
    if (r < 2 || grp < 1 || c % grp) {
        ox_fail(x, ME_ERR_FORMAT, "channels must split into the groups");
        return;
    }
    int64_t p[ME_MAX_RANK], cf_dims[ME_MAX_RANK];
    cl_to_cf(r, p);
    for (int i = 0; i < r; i++) cf_dims[i] = xt->dims[p[i]];
    const char *v = ox_transpose(x, fin(x, n, 0), p, r);
    int64_t gdims[3] = {xt->dims[0], grp, -1};
    const char *in[3] = {reshape_to(x, v, 3, gdims), filled(x, grp, 1.0f), filled(x, grp, 0.0f)};
    const char *y = ox_node_tmp(x, "groupnorm");
    ox_op(x, "InstanceNormalization", in, 3, &y, 1);
    ox_attr_float(x, "epsilon", (float)me_param_float(n, "epsilon", 1e-5));
    y = reshape_to(x, y, r, cf_dims);
    cf_to_cl(r, p);
    y = ox_transpose(x, y, p, r);
    if (tin(x, n, 1)) y = ox_op2(x, "Mul", y, fin(x, n, 1));
    if (tin(x, n, 2)) y = ox_op2(x, "Add", y, fin(x, n, 2));
    ox_set_out(x, n->out[0], y);
}

static void lrn(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    int r = tin(x, n, 0)->rank;
    if (r < 3 || me_param_int(n, "region", 0) != 0) {
        unsupported(x, "only ACROSS_CHANNEL LRN of rank >= 3 is written");
        return;
    }
    int64_t size = 2 * me_param_int(n, "radius", 0) + 1, p[ME_MAX_RANK];
    cl_to_cf(r, p);
    const char *y = ox_op1(x, "LRN", ox_transpose(x, fin(x, n, 0), p, r));
    ox_attr_int(x, "size", size);
    ox_attr_float(x, "alpha", (float)(me_param_float(n, "alpha", 1.0) * (double)size));
    ox_attr_float(x, "beta", (float)me_param_float(n, "beta", 0.5));
    ox_attr_float(x, "bias", (float)me_param_float(n, "bias", 1.0));
    cf_to_cl(r, p);
    ox_set_out(x, n->out[0], ox_transpose(x, y, p, r));
}

static void reduce_op(ox *x, const me_node *n, const char *op) {
    if (!need_inputs(x, n, 1)) return;
    const me_param *p = me_node_param(n, "axes");
    if (!p || p->kind != ME_PARAM_TENSOR) {
        ox_fail(x, ME_ERR_FORMAT, "axes are missing");
        return;
    }
    bool keep = me_param_int(n, "keep_dims", 0) != 0;
    const char *v = fin(x, n, 0);
    if (p->count == 0) { /* reduces nothing: each element on its own */
        ox_set_out(x, n->out[0], n->op == ME_OP_REDUCE_SUM_SQUARE ? ox_op2(x, "Mul", v, v) : v);
        return;
    }
    ox_set_out(x, n->out[0], reduce(x, op, v, p->ivals, (int)p->count, keep));
}

static void softmax(ox *x, const me_node *n, const char *op) {
    if (!need_inputs(x, n, 1)) return;
    int r = tin(x, n, 0)->rank;
    const char *v = fin(x, n, 0);
    double beta = me_param_float(n, "beta", 1.0);
    if (beta != 1.0) v = ox_op2(x, "Mul", v, ox_const_f32_scalar(x, (float)beta));
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, op, &v, 1, &o, 1);
    ox_attr_int(x, "axis", me_param_int(n, "axis", r - 1));
    ox_out_done(x, n->out[0]);
}

/* x/2 * (1 + erf(x/sqrt(2))), the pattern ONNX Runtime fuses into Gelu. */
static const char *gelu(ox *x, const char *v) {
    const char *e = ox_op1(x, "Erf", ox_op2(x, "Div", v, ox_const_f32_scalar(x, (float)M_SQRT2)));
    const char *s = ox_op2(x, "Add", e, ox_const_f32_scalar(x, 1.0f));
    return ox_op2(x, "Mul", ox_op2(x, "Mul", v, s), ox_const_f32_scalar(x, 0.5f));
}

static void neuron(ox *x, const me_node *n, int kind) {
    if (!need_inputs(x, n, 1)) return;
    const char *v = fin(x, n, 0), *y;
    bool hs = kind == 2;
    float alpha = (float)me_param_float(n, "alpha", hs ? 0.2 : 1.0), beta = (float)me_param_float(n, "beta", hs ? 0.5 : 1.0);
    switch (kind) {
    case 0: y = ox_op1(x, "Elu", v); ox_attr_float(x, "alpha", alpha); break;
    case 1: y = gelu(x, v); break;
    case 2: y = ox_op1(x, "HardSigmoid", v); ox_attr_float(x, "alpha", alpha); ox_attr_float(x, "beta", beta); break;
    case 3: y = ox_op1(x, "HardSwish", v); break;
    case 4: y = ox_op1(x, "Relu", v); break;
    case 5: {
        me_dtype dt = tin(x, n, 0)->dtype;
        if (ox_is_quantised(tin(x, n, 0))) dt = ME_DT_F32;
        const char *in[3] = {v, ox_const_scalar(x, dt, me_param_float(n, "min_value", 0.0)),
                             ox_const_scalar(x, dt, me_param_float(n, "max_value", 0.0))};
        y = ox_node_tmp(x, "clip");
        ox_op(x, "Clip", in, 3, &y, 1);
        break;
    }
    case 6: y = ox_op1(x, "Sigmoid", v); break;
    case 7:
        if (beta == 1.0f) {
            y = ox_op1(x, "Softplus", v);
        } else {
            const char *b = ox_const_f32_scalar(x, beta);
            y = ox_op2(x, "Div", ox_op1(x, "Softplus", ox_op2(x, "Mul", v, b)), b);
        }
        break;
    case 8: y = ox_op1(x, "Tanh", v); break;
    default: unsupported(x, "unknown ElementWiseNeuron operation"); return;
    }
    ox_set_out(x, n->out[0], y);
}

static void reshape(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_tensor *yt = tout(x, n, 0);
    const char *o = ox_out(x, n->out[0]);
    const char *in[2] = {fin(x, n, 0), ox_const_i64(x, yt->dims, yt->rank)};
    ox_op(x, "Reshape", in, 2, &o, 1);
    ox_out_done(x, n->out[0]);
}

static void transpose(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    int r = tin(x, n, 0)->rank;
    const int64_t *perm = ints_param(n, "perm", r);
    if (!perm) {
        ox_fail(x, ME_ERR_FORMAT, "perm must have %d entries", r);
        return;
    }
    const char *v = fin(x, n, 0), *o = ox_out(x, n->out[0]);
    ox_op(x, "Transpose", &v, 1, &o, 1);
    ox_attr_ints(x, "perm", perm, r);
    ox_out_done(x, n->out[0]);
}

static void concat(ox *x, const me_node *n) {
    if (n->n_in < 1) {
        ox_fail(x, ME_ERR_FORMAT, "no inputs");
        return;
    }
    const char **in = me_arena_calloc(&x->arena, (size_t)n->n_in, sizeof *in);
    if (!in) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return; }
    int k = 0;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0) in[k++] = ox_float(x, n->in[i]);
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "Concat", in, k, &o, 1);
    ox_attr_int(x, "axis", me_param_int(n, "axis", tout(x, n, 0)->rank - 1));
    ox_out_done(x, n->out[0]);
}

static void split(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_tensor *xt = tin(x, n, 0);
    int64_t axis = me_param_int(n, "axis", 0);
    if (axis < 0 || axis >= xt->rank) {
        ox_fail(x, ME_ERR_FORMAT, "axis is out of range");
        return;
    }
    int64_t sizes[256];
    if (n->n_out > 256) {
        unsupported(x, "more than 256 outputs");
        return;
    }
    for (int i = 0; i < n->n_out; i++) sizes[i] = tout(x, n, i)->dims[axis];
    const char *in[2] = {fin(x, n, 0), ox_const_i64(x, sizes, n->n_out)};
    const char **outs = me_arena_calloc(&x->arena, (size_t)n->n_out, sizeof *outs);
    if (!outs) { ox_fail(x, ME_ERR_NOMEM, "out of memory"); return; }
    for (int i = 0; i < n->n_out; i++) outs[i] = ox_out(x, n->out[i]);
    ox_op(x, "Split", in, 2, outs, n->n_out);
    ox_attr_int(x, "axis", axis);
    for (int i = 0; i < n->n_out; i++) ox_out_done(x, n->out[i]);
}


/* StridedSlice -> Slice over every axis (+ Reshape for shrunk axes), with
 * begin/end resolved here as the IR kernel does. */
static void strided_slice(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_tensor *xt = tin(x, n, 0), *yt = tout(x, n, 0);
    int r = xt->rank;
    const int64_t *rg = ints_param(n, "ranges", (int64_t)r * 3);
    if (!rg || r < 1) {
        ox_fail(x, ME_ERR_FORMAT, "ranges must be [rank, 3]");
        return;
    }
    int64_t bm = me_param_int(n, "begin_mask", 0), em = me_param_int(n, "end_mask", 0),
            sm = me_param_int(n, "shrink_axes", 0);
    if (me_param_int(n, "new_axes_mask", 0)) {
        unsupported(x, "new_axes_mask is not supported");
        return;
    }
    int64_t starts[ME_MAX_RANK], ends[ME_MAX_RANK], steps[ME_MAX_RANK], axes[ME_MAX_RANK];
    for (int a = 0; a < r; a++) {
        int64_t dim = xt->dims[a], b = rg[3 * a], e = rg[3 * a + 1], s = rg[3 * a + 2], cnt;
        axes[a] = a;
        if (s == 0) {
            ox_fail(x, ME_ERR_FORMAT, "stride 0 on axis %d", a);
            return;
        }
        if ((sm >> a) & 1) {
            if ((bm >> a) & 1) b = 0;
            if (b < 0) b += dim;
            starts[a] = b, ends[a] = b + 1, steps[a] = 1;
            continue;
        }
        cnt = me_strided_slice_axis(dim, b, e, s, (bm >> a) & 1, (em >> a) & 1, &b);
        if (cnt == 0) {
            starts[a] = 0, ends[a] = 0, steps[a] = 1;
        } else {
            starts[a] = b, steps[a] = s;
            int64_t last = b + (cnt - 1) * s; /* end just past the last taken index */
            ends[a] = s > 0 ? last + 1 : (last - 1 < 0 ? INT64_MIN : last - 1);
        }
    }
    const char *in[5] = {fin(x, n, 0), ox_const_i64(x, starts, r), ox_const_i64(x, ends, r), ox_const_i64(x, axes, r),
                         ox_const_i64(x, steps, r)};
    const char *y = ox_node_tmp(x, "slice");
    ox_op(x, "Slice", in, 5, &y, 1);
    if (sm) y = reshape_to(x, y, yt->rank, yt->dims);
    ox_set_out(x, n->out[0], y);
}

static void pad(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_tensor *xt = tin(x, n, 0);
    int r = xt->rank;
    const int64_t *pa = ints_param(n, "pad_amount", (int64_t)r * 2);
    if (!pa) {
        ox_fail(x, ME_ERR_FORMAT, "pad_amount must be [rank, 2]");
        return;
    }
    int64_t pads[2 * ME_MAX_RANK];
    for (int a = 0; a < r; a++) pads[a] = pa[2 * a], pads[r + a] = pa[2 * a + 1];
    int64_t scheme = me_param_int(n, "scheme", 0);
    static const char *const modes[] = {"constant", NULL, "reflect", "edge", "wrap"};
    if (scheme < 0 || scheme > 4 || !modes[scheme] || (scheme == 4 && x->opset < 19)) {
        unsupported(x, "this padding scheme has no ONNX Pad mode at the written opset");
        return;
    }
    const char *in[3] = {fin(x, n, 0), ox_const_i64(x, pads, 2 * r), NULL};
    int k = 2;
    if (scheme == 0) {
        double c = me_param_float(n, "pad_constant_value", 0.0);
        me_dtype dt = xt->dtype;
        if (ox_is_quantised(xt)) { /* the stored integer, as a real value */
            if (xt->qenc->kind != ME_QENC_SCALE_OFFSET) {
                unsupported(x, "padding a per-axis quantised tensor");
                return;
            }
            c = (c + xt->qenc->offsets[0]) * (double)xt->qenc->scales[0];
            dt = ME_DT_F32;
        }
        in[k++] = ox_const_scalar(x, dt, c);
    }
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "Pad", in, k, &o, 1);
    ox_attr_str(x, "mode", modes[scheme]);
    ox_out_done(x, n->out[0]);
}

static void tile(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    int r = tin(x, n, 0)->rank;
    const int64_t *m = ints_param(n, "multiples", r);
    if (!m) {
        ox_fail(x, ME_ERR_FORMAT, "multiples must have %d entries", r);
        return;
    }
    const char *o = ox_out(x, n->out[0]);
    const char *in[2] = {fin(x, n, 0), ox_const_i64(x, m, r)};
    ox_op(x, "Tile", in, 2, &o, 1);
    ox_out_done(x, n->out[0]);
}

static void depth_space(ox *x, const me_node *n, bool to_space) {
    if (!need_inputs(x, n, 1)) return;
    const int64_t *bs = ints_param(n, "block_size", 2);
    int64_t mode = me_param_int(n, "mode", 0);
    if (!bs || bs[0] != bs[1] || tin(x, n, 0)->rank != 4) {
        unsupported(x, "ONNX needs a square block and a 4-D tensor");
        return;
    }
    if (!to_space && mode != 0) {
        unsupported(x, "ONNX SpaceToDepth has only the DCR order");
        return;
    }
    const char *y = ox_op1(x, to_space ? "DepthToSpace" : "SpaceToDepth", ox_transpose(x, fin(x, n, 0), to_nchw, 4));
    ox_attr_int(x, "blocksize", bs[0]);
    if (to_space) ox_attr_str(x, "mode", mode ? "CRD" : "DCR");
    ox_set_out(x, n->out[0], ox_transpose(x, y, to_nhwc, 4));
}

/* Indices as ONNX takes them (int32/int64). */
static const char *indices(ox *x, const me_node *n, int i) {
    const me_tensor *t = tin(x, n, i);
    const char *v = ox_raw(x, n->in[i]);
    if (t->dtype == ME_DT_I32 || t->dtype == ME_DT_I64) return v;
    const char *c = ox_op1(x, "Cast", v);
    ox_attr_int(x, "to", OX_INT64);
    return c;
}

static void gather(ox *x, const me_node *n, bool elements) {
    if (!need_inputs(x, n, 2)) return;
    const char *o = ox_out(x, n->out[0]);
    const char *in[2] = {fin(x, n, 0), indices(x, n, 1)};
    ox_op(x, elements ? "GatherElements" : "Gather", in, 2, &o, 1);
    ox_attr_int(x, "axis", me_param_int(n, "axis", 0));
    ox_out_done(x, n->out[0]);
}

static void resize(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const me_tensor *xt = tin(x, n, 0), *yt = tout(x, n, 0);
    bool symmetric = me_param_int(n, "half_pixel_symmetric", 0) != 0;
    static const char *const tm[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"};
    static const char *const im[] = {"nearest", "linear", "cubic"};
    static const char *const nm[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int64_t t = me_param_int(n, "transformation_mode", 0), i = me_param_int(n, "interpolation_mode", 0),
            m = me_param_int(n, "nearest_mode", 0);
    if (t < 0 || t > 3 || i < 0 || i > 2 || m < 0 || m > 3) {
        ox_fail(x, ME_ERR_FORMAT, "unknown resize mode");
        return;
    }
    const me_param *sc = me_node_param(n, "scales");
    const char *in[4] = {fin(x, n, 0), "", "", ""};
    int k;
    if (sc && sc->fvals && sc->count == xt->rank) {
        int64_t r = xt->rank;
        in[2] = ox_const_f32(x, sc->fvals, 1, &r);
        k = 3;
    } else {
        in[3] = ox_const_i64(x, yt->dims, yt->rank);
        k = 4;
    }
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "Resize", in, k, &o, 1);
    if (symmetric && (t != 0 || x->opset < 19)) {
        ox_fail(x, ME_ERR_FORMAT, "half_pixel_symmetric needs the half_pixel transform");
        return;
    }
    ox_attr_str(x, "coordinate_transformation_mode", symmetric ? "half_pixel_symmetric" : tm[t]);
    ox_attr_str(x, "mode", im[i]);
    ox_attr_str(x, "nearest_mode", nm[m]);
    ox_attr_float(x, "cubic_coeff_a", (float)me_param_float(n, "cubic_coeff", -0.75));
    ox_attr_int(x, "exclude_outside", me_param_int(n, "exclude_outside", 0));
    ox_out_done(x, n->out[0]);
}

static void cast_to(ox *x, const me_node *n, int i, const char *v) {
    const me_tensor *t = tout(x, n, i);
    int ot = ox_onnx_type(t->dtype);
    if (!ot || ox_is_quantised(t)) {
        ox_fail(x, ME_ERR_UNSUPPORTED, "output '%s' of dtype %s cannot be cast to", t->name, me_dtype_name(t->dtype));
        return;
    }
    const char *o = ox_out(x, n->out[i]);
    ox_op(x, "Cast", &v, 1, &o, 1);
    ox_attr_int(x, "to", ot);
}

static void arg_op(ox *x, const me_node *n, const char *op) {
    if (!need_inputs(x, n, 1)) return;
    const char *y = ox_op1(x, op, fin(x, n, 0));
    ox_attr_int(x, "axis", me_param_int(n, "axis", 0));
    ox_attr_int(x, "keepdims", me_param_int(n, "keep_dims", 0));
    cast_to(x, n, 0, y);
}

static void topk(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1) || n->n_out < 2) {
        ox_fail(x, ME_ERR_FORMAT, "TopK needs two outputs");
        return;
    }
    int64_t k = me_param_int(n, "k", 1);
    const char *in[2] = {fin(x, n, 0), ox_const_i64(x, &k, 1)};
    const char *outs[2] = {ox_out(x, n->out[0]), ox_node_tmp(x, "topk_indices")};
    ox_op(x, "TopK", in, 2, outs, 2);
    ox_attr_int(x, "axis", -1);
    ox_attr_int(x, "largest", me_param_int(n, "largest", 1));
    ox_attr_int(x, "sorted", 1);
    ox_out_done(x, n->out[0]);
    cast_to(x, n, 1, outs[1]);
}

static void cumsum(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    const char *o = ox_out(x, n->out[0]);
    const char *in[2] = {fin(x, n, 0), ox_const_i64_scalar(x, me_param_int(n, "axis", 0))};
    ox_op(x, "CumSum", in, 2, &o, 1);
    ox_attr_int(x, "exclusive", me_param_int(n, "exclusive", 0));
    ox_attr_int(x, "reverse", me_param_int(n, "reverse", 0));
    ox_out_done(x, n->out[0]);
}

static void batchnorm(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 2)) return;
    const char *y = ox_op2(x, "Mul", fin(x, n, 0), fin(x, n, 1));
    if (tin(x, n, 2)) y = ox_op2(x, "Add", y, fin(x, n, 2));
    ox_set_out(x, n->out[0], y);
}

static void float_mod(ox *x, const me_node *n) { /* sign of the divisor: a - b * floor(a / b) */
    if (!need_inputs(x, n, 2)) return;
    const char *a = fin(x, n, 0), *b = fin(x, n, 1);
    const char *q = ox_op1(x, "Floor", ox_op2(x, "Div", a, b));
    ox_set_out(x, n->out[0], ox_op2(x, "Sub", a, ox_op2(x, "Mul", b, q)));
}

static void mod(ox *x, const me_node *n, int fmod) {
    if (!need_inputs(x, n, 2)) return;
    bool flt = me_dtype_is_float(tin(x, n, 0)->dtype) || ox_is_quantised(tin(x, n, 0));
    if (flt && !fmod) {
        float_mod(x, n);
        return;
    }
    const char *in[2] = {fin(x, n, 0), fin(x, n, 1)};
    const char *o = ox_out(x, n->out[0]);
    ox_op(x, "Mod", in, 2, &o, 1);
    ox_attr_int(x, "fmod", fmod);
    ox_out_done(x, n->out[0]);
}

static void quantize(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    if (!ox_is_quantised(tout(x, n, 0))) {
        ox_fail(x, ME_ERR_FORMAT, "output has no encoding");
        return;
    }
    ox_set_out(x, n->out[0], fin(x, n, 0));
}

static void dequantize(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    if (!ox_is_quantised(tin(x, n, 0)) || ox_is_quantised(tout(x, n, 0))) {
        ox_fail(x, ME_ERR_FORMAT, "input must be quantised and the output float");
        return;
    }
    if (tout(x, n, 0)->dtype == ME_DT_F32) ox_dequantize_into(x, n->in[0], n->out[0]);
    else cast_to(x, n, 0, fin(x, n, 0));
}

static void cast(ox *x, const me_node *n) {
    if (!need_inputs(x, n, 1)) return;
    cast_to(x, n, 0, ox_raw(x, n->in[0])); /* QNN Cast ignores encodings */
}

me_status ox_translate_node(ox *x, const me_node *n) {
    if (n->dead) return ME_OK;
    switch ((me_op_id)n->op) {
    case ME_OP_ADD: simple(x, n, "Add", 2); break;
    case ME_OP_SUBTRACT: simple(x, n, "Sub", 2); break;
    case ME_OP_MULTIPLY: simple(x, n, "Mul", 2); break;
    case ME_OP_DIVIDE: simple(x, n, "Div", 2); break;
    case ME_OP_POWER: simple(x, n, "Pow", 2); break;
    case ME_OP_MAXIMUM: simple(x, n, "Max", 2); break;
    case ME_OP_MINIMUM: simple(x, n, "Min", 2); break;
    case ME_OP_MOD: mod(x, n, 0); break;
    case ME_OP_FMOD: mod(x, n, 1); break;
    case ME_OP_EQUAL: simple(x, n, "Equal", 2); break;
    case ME_OP_NOT_EQUAL:
        if (need_inputs(x, n, 2)) ox_set_out(x, n->out[0], ox_op1(x, "Not", ox_op2(x, "Equal", fin(x, n, 0), fin(x, n, 1))));
        break;
    case ME_OP_GREATER: simple(x, n, "Greater", 2); break;
    case ME_OP_GREATER_EQUAL: simple(x, n, "GreaterOrEqual", 2); break;
    case ME_OP_LESS: simple(x, n, "Less", 2); break;
    case ME_OP_LESS_EQUAL: simple(x, n, "LessOrEqual", 2); break;
    case ME_OP_AND: simple(x, n, "And", 2); break;
    case ME_OP_OR: simple(x, n, "Or", 2); break;
    case ME_OP_XOR: simple(x, n, "Xor", 2); break;
    case ME_OP_SELECT: simple(x, n, "Where", 3); break;
    case ME_OP_ABS: simple(x, n, "Abs", 1); break;
    case ME_OP_CEIL: simple(x, n, "Ceil", 1); break;
    case ME_OP_COS: simple(x, n, "Cos", 1); break;
    case ME_OP_EXP: simple(x, n, "Exp", 1); break;
    case ME_OP_FLOOR: simple(x, n, "Floor", 1); break;
    case ME_OP_LOG: simple(x, n, "Log", 1); break;
    case ME_OP_NEG: simple(x, n, "Neg", 1); break;
    case ME_OP_NOT: simple(x, n, "Not", 1); break;
    case ME_OP_ROUND: simple(x, n, "Round", 1); break;
    case ME_OP_SIGN: simple(x, n, "Sign", 1); break;
    case ME_OP_SIN: simple(x, n, "Sin", 1); break;
    case ME_OP_SQRT: simple(x, n, "Sqrt", 1); break;
    case ME_OP_RSQRT:
        if (need_inputs(x, n, 1)) ox_set_out(x, n->out[0], ox_op1(x, "Reciprocal", ox_op1(x, "Sqrt", fin(x, n, 0))));
        break;
    case ME_OP_RECIPROCAL: simple(x, n, "Reciprocal", 1); break;
    case ME_OP_ERF: simple(x, n, "Erf", 1); break;
    case ME_OP_RELU: neuron(x, n, 4); break;
    case ME_OP_RELU_MIN_MAX: neuron(x, n, 5); break;
    case ME_OP_SIGMOID: neuron(x, n, 6); break;
    case ME_OP_TANH: neuron(x, n, 8); break;
    case ME_OP_ELU: neuron(x, n, 0); break;
    case ME_OP_GELU: neuron(x, n, 1); break;
    case ME_OP_HARD_SWISH: neuron(x, n, 3); break;
    case ME_OP_SOFTPLUS: neuron(x, n, 7); break;
    case ME_OP_NEURON: neuron(x, n, (int)me_param_int(n, "operation", -1)); break;
    case ME_OP_PRELU: simple(x, n, "PRelu", 2); break;
    case ME_OP_SOFTMAX: softmax(x, n, "Softmax"); break;
    case ME_OP_LOG_SOFTMAX: softmax(x, n, "LogSoftmax"); break;
    case ME_OP_CONV2D: conv(x, n, false); break;
    case ME_OP_DEPTHWISE_CONV2D: conv(x, n, true); break;
    case ME_OP_TRANSPOSE_CONV2D: transpose_conv(x, n); break;
    case ME_OP_POOL_MAX2D: pool(x, n, true); break;
    case ME_OP_POOL_AVG2D: pool(x, n, false); break;
    case ME_OP_FULLY_CONNECTED: fully_connected(x, n); break;
    case ME_OP_MATMUL: matmul(x, n); break;
    case ME_OP_ATTENTION: attention(x, n); break;
    case ME_OP_BATCHNORM: batchnorm(x, n); break;
    case ME_OP_LAYER_NORM: layer_norm(x, n); break;
    case ME_OP_RMS_NORM: rms_norm(x, n); break;
    case ME_OP_INSTANCE_NORM: instance_norm(x, n); break;
    case ME_OP_GROUP_NORM: group_norm(x, n); break;
    case ME_OP_LRN: lrn(x, n); break;
    case ME_OP_REDUCE_MAX: reduce_op(x, n, "ReduceMax"); break;
    case ME_OP_REDUCE_MIN: reduce_op(x, n, "ReduceMin"); break;
    case ME_OP_REDUCE_MEAN: reduce_op(x, n, "ReduceMean"); break;
    case ME_OP_REDUCE_SUM: reduce_op(x, n, "ReduceSum"); break;
    case ME_OP_REDUCE_PROD: reduce_op(x, n, "ReduceProd"); break;
    case ME_OP_REDUCE_SUM_SQUARE: reduce_op(x, n, "ReduceSumSquare"); break;
    case ME_OP_ARGMAX: arg_op(x, n, "ArgMax"); break;
    case ME_OP_ARGMIN: arg_op(x, n, "ArgMin"); break;
    case ME_OP_TOPK: topk(x, n); break;
    case ME_OP_CUMSUM: cumsum(x, n); break;
    case ME_OP_RESHAPE: reshape(x, n); break;
    case ME_OP_TRANSPOSE: transpose(x, n); break;
    case ME_OP_CONCAT: concat(x, n); break;
    case ME_OP_SPLIT: split(x, n); break;
    case ME_OP_STRIDED_SLICE: strided_slice(x, n); break;
    case ME_OP_PAD: pad(x, n); break;
    case ME_OP_TILE: tile(x, n); break;
    case ME_OP_DEPTH_TO_SPACE: depth_space(x, n, true); break;
    case ME_OP_SPACE_TO_DEPTH: depth_space(x, n, false); break;
    case ME_OP_GATHER: gather(x, n, false); break;
    case ME_OP_GATHER_ELEMENTS: gather(x, n, true); break;
    case ME_OP_RESIZE: resize(x, n); break;
    case ME_OP_CAST: cast(x, n); break;
    case ME_OP_QUANTIZE: quantize(x, n); break;
    case ME_OP_DEQUANTIZE: dequantize(x, n); break;
    default:
        ox_fail(x, ME_ERR_UNSUPPORTED, "this op has no ONNX mapping");
        break;
    }
    return x->st;
}
