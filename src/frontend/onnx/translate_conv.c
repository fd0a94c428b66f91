/* Translators: convolution, pooling, dense layers, batch normalisation.
 * Spatial ops run on NHWC: the input goes through mo_to_nhwc, the result back
 * through mo_to_nchw (the layout pass cancels the pairs). 1-D ops are lifted
 * to 2-D with H = 1; 3-D ops are not supported yet. */
#include <math.h>
#include <string.h>

#include "../../core/util.h"
#include "translate_util.h"

/* Spatial attributes of a conv/pool node, per spatial axis (2 after lifting). */
typedef struct spatial {
    int n;                         /* spatial axes (1 or 2 in ONNX) */
    int64_t in[2], k[2], stride[2], dil[2], pad0[2], pad1[2];
} spatial;

static me_status read_ints_attr(mo_ctx *c, const onnx_node *n, const char *name, int want, int64_t *out,
                                int64_t dflt) {
    const int64_t *v;
    int cnt = mo_attr_ints(n, name, &v);
    for (int i = 0; i < want; i++) out[i] = dflt;
    if (cnt < 0) return ME_OK;
    if (cnt != want) return mo_error(c, n, ME_ERR_FORMAT, "attribute '%s' has %d values, expected %d", name, cnt, want);
    for (int i = 0; i < want; i++) out[i] = v[i];
    return ME_OK;
}

/* Reads strides/dilations/pads/auto_pad; k[] and in[] must be set. For
 * ConvTranspose the padding is computed by the caller. */
static me_status read_spatial(mo_ctx *c, const onnx_node *n, spatial *s, bool has_dilations) {
    MT_OK(read_ints_attr(c, n, "strides", s->n, s->stride, 1));
    if (has_dilations) MT_OK(read_ints_attr(c, n, "dilations", s->n, s->dil, 1));
    else for (int i = 0; i < s->n; i++) s->dil[i] = 1;
    int64_t pads[4];
    MT_OK(read_ints_attr(c, n, "pads", 2 * s->n, pads, 0));
    for (int i = 0; i < s->n; i++) {
        if (s->stride[i] < 1 || s->dil[i] < 1 || s->k[i] < 1)
            return mo_error(c, n, ME_ERR_FORMAT, "kernel, strides and dilations must be positive");
        s->pad0[i] = pads[i];
        s->pad1[i] = pads[s->n + i];
        if (s->pad0[i] < 0 || s->pad1[i] < 0) return mo_error(c, n, ME_ERR_UNSUPPORTED, "negative pads are not supported");
    }
    const char *ap = mo_attr_str(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") == 0) return ME_OK;
    bool upper = strcmp(ap, "SAME_UPPER") == 0, lower = strcmp(ap, "SAME_LOWER") == 0;
    if (!upper && !lower && strcmp(ap, "VALID") != 0)
        return mo_error(c, n, ME_ERR_FORMAT, "unknown auto_pad '%s'", ap);
    for (int i = 0; i < s->n; i++) {
        if (!upper && !lower) { s->pad0[i] = s->pad1[i] = 0; continue; }
        int64_t out = (s->in[i] + s->stride[i] - 1) / s->stride[i];
        int64_t total = (out - 1) * s->stride[i] + (s->k[i] - 1) * s->dil[i] + 1 - s->in[i];
        if (total < 0) total = 0;
        s->pad0[i] = upper ? total / 2 : total - total / 2;
        s->pad1[i] = total - s->pad0[i];
    }
    return ME_OK;
}

/* Lift a 1-D spatial description to 2-D (H = 1). */
static void lift_spatial(spatial *s) {
    if (s->n == 2) return;
    s->in[1] = s->in[0]; s->k[1] = s->k[0]; s->stride[1] = s->stride[0]; s->dil[1] = s->dil[0];
    s->pad0[1] = s->pad0[0]; s->pad1[1] = s->pad1[0];
    s->in[0] = 1; s->k[0] = 1; s->stride[0] = 1; s->dil[0] = 1; s->pad0[0] = 0; s->pad1[0] = 0;
    s->n = 2;
}

static me_status set_spatial_params(mo_ctx *c, int node, const spatial *s, bool dilation) {
    MT_OK(mt_u32s(c, node, "stride", 2, s->stride));
    MT_OK(mt_pad_amount(c, node, 2, s->pad0, s->pad1));
    if (dilation && (s->dil[0] != 1 || s->dil[1] != 1)) MT_OK(mt_u32s(c, node, "dilation", 2, s->dil));
    return ME_OK;
}

/* [N,C,L] -> [N,C,1,L] */
static int lift_tensor(mo_ctx *c, const onnx_node *n, int t, const char *sfx) {
    const me_tensor *tt = mo_t(c, t);
    int64_t d[4] = {tt->dims[0], tt->dims[1], 1, tt->dims[2]};
    return mo_reshape(c, n, t, 4, d, sfx);
}

/* [N,C,1,L] -> [N,C,L] */
static int unlift_tensor(mo_ctx *c, const onnx_node *n, int t) {
    const me_tensor *tt = mo_t(c, t);
    int64_t d[3] = {tt->dims[0], tt->dims[1], tt->dims[3]};
    return mo_reshape(c, n, t, 3, d, "to1d");
}

static me_status check_rank(mo_ctx *c, const onnx_node *n, int rank, const char *what) {
    if (rank == 5) return mo_error(c, n, ME_ERR_UNSUPPORTED, "3-D %s is not supported", what);
    if (rank != 3 && rank != 4) return mo_error(c, n, ME_ERR_UNSUPPORTED, "%s input of rank %d is not supported", what, rank);
    return ME_OK;
}

me_status mo_tr_conv(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0), w = mo_in(c, n, 1), b = mo_in(c, n, 2);
    if (x < 0 || w < 0) return mo_error(c, n, ME_ERR_FORMAT, "X and W are required");
    const me_tensor *tx = mo_t(c, x), *tw = mo_t(c, w);
    int rank = tx->rank;
    MT_OK(check_rank(c, n, rank, "convolution"));
    if (tw->rank != rank) return mo_error(c, n, ME_ERR_FORMAT, "W has rank %d, X rank %d", tw->rank, rank);
    spatial s = {.n = rank - 2};
    int64_t cin = tx->dims[1], cout = tw->dims[0], cin_g = tw->dims[1];
    for (int i = 0; i < s.n; i++) { s.in[i] = tx->dims[2 + i]; s.k[i] = tw->dims[2 + i]; }
    const int64_t *ks;
    int nks = mo_attr_ints(n, "kernel_shape", &ks);
    if (nks >= 0) {
        if (nks != s.n) return mo_error(c, n, ME_ERR_FORMAT, "kernel_shape has %d values", nks);
        for (int i = 0; i < s.n; i++)
            if (ks[i] != s.k[i]) return mo_error(c, n, ME_ERR_FORMAT, "kernel_shape disagrees with W");
    }
    int64_t group = mo_attr_int(n, "group", 1);
    if (group < 1 || cin % group || cout % group || cin / group != cin_g)
        return mo_error(c, n, ME_ERR_FORMAT, "group %lld does not fit %lld input and %lld output channels (W has %lld per group)",
                        (long long)group, (long long)cin, (long long)cout, (long long)cin_g);
    MT_OK(read_spatial(c, n, &s, true));
    bool one_d = s.n == 1;
    if (one_d) {
        lift_spatial(&s);
        MT_TRY(x = lift_tensor(c, n, x, "to2d"));
        MT_TRY(w = lift_tensor(c, n, w, "w2d"));
    }
    bool depthwise = group > 1 && group == cin && cout == cin;
    static const int w_perm[4] = {2, 3, 1, 0}; /* OIHW -> HWIO ([kh,kw,1,Cout] for depthwise) */
    int wt = mo_transpose(c, n, w, w_perm, "weights_hwio");
    MT_TRY(wt);
    int xn = mo_to_nhwc(c, n, x);
    MT_TRY(xn);
    int ins[3] = {xn, wt, b};
    int node = mo_node(c, n, depthwise ? ME_OP_DEPTHWISE_CONV2D : ME_OP_CONV2D, ins, b >= 0 ? 3 : 2, 1, NULL);
    MT_TRY(node);
    MT_OK(set_spatial_params(c, node, &s, true));
    if (!depthwise && group != 1) me_node_set_scalar_u32(mo_graph(c), node, "group", (uint32_t)group);
    int y = mt_finish1(c, node);
    MT_TRY(y);
    MT_TRY(y = mo_to_nchw(c, n, y));
    if (one_d) MT_TRY(y = unlift_tensor(c, n, y));
    return mt_bind(c, n, 0, y);
}

me_status mo_tr_conv_transpose(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0), w = mo_in(c, n, 1), b = mo_in(c, n, 2);
    if (x < 0 || w < 0) return mo_error(c, n, ME_ERR_FORMAT, "X and W are required");
    const me_tensor *tx = mo_t(c, x), *tw = mo_t(c, w);
    int rank = tx->rank;
    MT_OK(check_rank(c, n, rank, "transposed convolution"));
    if (tw->rank != rank) return mo_error(c, n, ME_ERR_FORMAT, "W has rank %d, X rank %d", tw->rank, rank);
    int64_t group = mo_attr_int(n, "group", 1);
    int64_t cin = tx->dims[1];
    if (group < 1 || tw->dims[0] != cin || cin % group)
        return mo_error(c, n, ME_ERR_FORMAT, "W's first dimension (%lld) must equal the input channels (%lld)",
                        (long long)tw->dims[0], (long long)cin);
    spatial s = {.n = rank - 2};
    for (int i = 0; i < s.n; i++) { s.in[i] = tx->dims[2 + i]; s.k[i] = tw->dims[2 + i]; }
    MT_OK(read_ints_attr(c, n, "strides", s.n, s.stride, 1));
    MT_OK(read_ints_attr(c, n, "dilations", s.n, s.dil, 1));
    int64_t pads[4], outpad[2], outshape[2];
    MT_OK(read_ints_attr(c, n, "pads", 2 * s.n, pads, 0));
    MT_OK(read_ints_attr(c, n, "output_padding", s.n, outpad, 0));
    const int64_t *os;
    int nos = mo_attr_ints(n, "output_shape", &os);
    const char *ap = mo_attr_str(n, "auto_pad", "NOTSET");
    bool upper = strcmp(ap, "SAME_UPPER") == 0, lower = strcmp(ap, "SAME_LOWER") == 0;
    if (!upper && !lower && strcmp(ap, "VALID") != 0 && strcmp(ap, "NOTSET") != 0)
        return mo_error(c, n, ME_ERR_FORMAT, "unknown auto_pad '%s'", ap);
    if (nos >= 0) {
        /* output_shape may list only the spatial dims or the full shape */
        if (nos != s.n && nos != s.n + 2) return mo_error(c, n, ME_ERR_FORMAT, "output_shape has %d values", nos);
        for (int i = 0; i < s.n; i++) outshape[i] = os[nos - s.n + i];
    }
    for (int i = 0; i < s.n; i++) {
        if (s.stride[i] < 1 || s.dil[i] < 1 || outpad[i] < 0)
            return mo_error(c, n, ME_ERR_FORMAT, "strides/dilations must be positive, output_padding non-negative");
        int64_t natural = s.stride[i] * (s.in[i] - 1) + outpad[i] + (s.k[i] - 1) * s.dil[i] + 1;
        if (nos >= 0 || upper || lower) {
            int64_t target = nos >= 0 ? outshape[i] : s.in[i] * s.stride[i];
            int64_t total = natural - target;
            if (total < 0) { outpad[i] += -total; total = 0; } /* extra output rows at the end (as ORT) */
            if (upper) { s.pad0[i] = total / 2; s.pad1[i] = total - total / 2; }
            else { s.pad0[i] = total - total / 2; s.pad1[i] = total / 2; }
        } else if (strcmp(ap, "VALID") == 0) {
            s.pad0[i] = s.pad1[i] = 0;
        } else {
            s.pad0[i] = pads[i];
            s.pad1[i] = pads[s.n + i];
        }
        if (s.pad0[i] < 0 || s.pad1[i] < 0) return mo_error(c, n, ME_ERR_UNSUPPORTED, "negative pads are not supported");
    }
    bool one_d = s.n == 1;
    if (one_d) {
        lift_spatial(&s);
        outpad[1] = outpad[0];
        outpad[0] = 0;
        MT_TRY(x = lift_tensor(c, n, x, "to2d"));
        MT_TRY(w = lift_tensor(c, n, w, "w2d"));
    }
    static const int w_perm[4] = {2, 3, 0, 1}; /* (Cin, Cout/g, kh, kw) -> [kh,kw,Cin,Cout/g] */
    int wt = mo_transpose(c, n, w, w_perm, "weights_hwio");
    MT_TRY(wt);
    int xn = mo_to_nhwc(c, n, x);
    MT_TRY(xn);
    int ins[3] = {xn, wt, b};
    int node = mo_node(c, n, ME_OP_TRANSPOSE_CONV2D, ins, b >= 0 ? 3 : 2, 1, NULL);
    MT_TRY(node);
    MT_OK(set_spatial_params(c, node, &s, true));
    if (group != 1) me_node_set_scalar_u32(mo_graph(c), node, "group", (uint32_t)group);
    if (outpad[0] || outpad[1]) MT_OK(mt_u32s(c, node, "output_padding", 2, outpad));
    int y = mt_finish1(c, node);
    MT_TRY(y);
    MT_TRY(y = mo_to_nchw(c, n, y));
    if (one_d) MT_TRY(y = unlift_tensor(c, n, y));
    return mt_bind(c, n, 0, y);
}

/* One PoolMax2d/PoolAvg2d on an NHWC tensor with per-axis (H, W) settings. */
static int pool2d_nhwc(mo_ctx *c, const onnx_node *n, bool is_max, int x, const int64_t *k, const int64_t *stride,
                       const int64_t *dil, const int64_t *p0, const int64_t *p1, int64_t ceil_mode, int64_t count_pad,
                       const char *sfx) {
    int node = mo_node(c, n, is_max ? ME_OP_POOL_MAX2D : ME_OP_POOL_AVG2D, &x, 1, 1, sfx);
    if (node < 0) return -1;
    if (mt_u32s(c, node, "filter_size", 2, k) != ME_OK || mt_u32s(c, node, "stride", 2, stride) != ME_OK ||
        mt_pad_amount(c, node, 2, p0, p1) != ME_OK)
        return -1;
    if ((dil[0] != 1 || dil[1] != 1) && mt_u32s(c, node, "dilation", 2, dil) != ME_OK) return -1;
    if (ceil_mode) me_node_set_scalar_u32(mo_graph(c), node, "rounding_mode", 1);
    if (!is_max && count_pad) me_node_set_scalar_bool(mo_graph(c), node, "count_pad_for_edges", true);
    return mt_finish1(c, node);
}

/* 3-D pooling as two 2-D pools: over (H, W) per depth slice, then over D.
 * Exact for max, and for average too: a window's divisor (real or padded
 * taps) is a product of per-axis counts. */
static me_status pool3d(mo_ctx *c, const onnx_node *n, int x, bool is_max) {
    const me_tensor *tx = mo_t(c, x);
    int64_t N = tx->dims[0], C = tx->dims[1];
    int64_t in[3] = {tx->dims[2], tx->dims[3], tx->dims[4]};
    const int64_t *ks;
    if (mo_attr_ints(n, "kernel_shape", &ks) != 3) return mo_error(c, n, ME_ERR_FORMAT, "kernel_shape must have 3 values");
    if (mo_attr_int(n, "storage_order", 0) != 0) return mo_error(c, n, ME_ERR_UNSUPPORTED, "storage_order != 0 is not supported");
    int64_t k[3] = {ks[0], ks[1], ks[2]}, st[3], dl[3], pads[6];
    MT_OK(read_ints_attr(c, n, "strides", 3, st, 1));
    MT_OK(read_ints_attr(c, n, "dilations", 3, dl, 1));
    MT_OK(read_ints_attr(c, n, "pads", 6, pads, 0));
    int64_t p0[3] = {pads[0], pads[1], pads[2]}, p1[3] = {pads[3], pads[4], pads[5]};
    const char *ap = mo_attr_str(n, "auto_pad", "NOTSET");
    for (int i = 0; i < 3; i++) {
        if (k[i] < 1 || st[i] < 1 || dl[i] < 1 || p0[i] < 0 || p1[i] < 0)
            return mo_error(c, n, ME_ERR_FORMAT, "kernel, strides and dilations must be positive, pads non-negative");
        if (strcmp(ap, "VALID") == 0) p0[i] = p1[i] = 0;
        else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
            int64_t out = (in[i] + st[i] - 1) / st[i];
            int64_t total = (out - 1) * st[i] + (k[i] - 1) * dl[i] + 1 - in[i];
            if (total < 0) total = 0;
            p0[i] = ap[5] == 'U' ? total / 2 : total - total / 2;
            p1[i] = total - p0[i];
        } else if (strcmp(ap, "NOTSET") != 0) {
            return mo_error(c, n, ME_ERR_FORMAT, "unknown auto_pad '%s'", ap);
        }
    }
    int64_t ceil_mode = mo_attr_int(n, "ceil_mode", 0), count_pad = mo_attr_int(n, "count_include_pad", 0);
    int xn = mo_to_nhwc(c, n, x); /* [N, D, H, W, C] */
    MT_TRY(xn);
    int64_t d4[4] = {N * in[0], in[1], in[2], C};
    MT_TRY(xn = mo_reshape(c, n, xn, 4, d4, "slices"));
    int y = pool2d_nhwc(c, n, is_max, xn, k + 1, st + 1, dl + 1, p0 + 1, p1 + 1, ceil_mode, count_pad, "pool_hw");
    MT_TRY(y);
    int64_t oh = mo_t(c, y)->dims[1], ow = mo_t(c, y)->dims[2];
    int64_t d4b[4] = {N, in[0], oh * ow, C};
    MT_TRY(y = mo_reshape(c, n, y, 4, d4b, "depth_rows"));
    int64_t kd[2] = {k[0], 1}, sd[2] = {st[0], 1}, dd[2] = {dl[0], 1}, a0[2] = {p0[0], 0}, a1[2] = {p1[0], 0};
    MT_TRY(y = pool2d_nhwc(c, n, is_max, y, kd, sd, dd, a0, a1, ceil_mode, count_pad, "pool_d"));
    int64_t od = mo_t(c, y)->dims[1];
    int64_t d5[5] = {N, od, oh, ow, C};
    MT_TRY(y = mo_reshape(c, n, y, 5, d5, "volume"));
    return mt_bind(c, n, 0, mo_to_nchw(c, n, y));
}

me_status mo_tr_pool(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input X is missing");
    const me_tensor *tx = mo_t(c, x);
    int rank = tx->rank;
    bool global = strncmp(n->op_type, "Global", 6) == 0;
    bool is_max = strstr(n->op_type, "Max") != NULL;
    if (n->n_out > 1 && n->outputs[1][0])
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "the Indices output of MaxPool is not supported");
    if (global && rank != 4 && rank >= 2) {
        /* any rank: reduce over the spatial axes */
        int64_t axes[ME_MAX_RANK];
        for (int i = 2; i < rank; i++) axes[i - 2] = i;
        return mt_bind(c, n, 0, mt_reduce(c, n, is_max ? ME_OP_REDUCE_MAX : ME_OP_REDUCE_MEAN, x, axes, rank - 2, true, NULL));
    }
    if (rank == 5 && !global) {
        if (mo_t(c, x)->dtype != ME_DT_F32) return mo_error(c, n, ME_ERR_UNSUPPORTED, "3-D pooling needs float data");
        return pool3d(c, n, x, is_max);
    }
    MT_OK(check_rank(c, n, rank, "pooling"));
    spatial s = {.n = rank - 2};
    for (int i = 0; i < s.n; i++) s.in[i] = tx->dims[2 + i];
    int64_t ceil_mode = 0, count_pad = 0;
    if (global) {
        for (int i = 0; i < s.n; i++) {
            s.k[i] = s.in[i]; s.stride[i] = 1; s.dil[i] = 1; s.pad0[i] = s.pad1[i] = 0;
        }
    } else {
        if (mo_attr_int(n, "storage_order", 0) != 0)
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "storage_order != 0 is not supported");
        const int64_t *ks;
        int nks = mo_attr_ints(n, "kernel_shape", &ks);
        if (nks != s.n) return mo_error(c, n, ME_ERR_FORMAT, "kernel_shape must have %d values", s.n);
        for (int i = 0; i < s.n; i++) s.k[i] = ks[i];
        MT_OK(read_spatial(c, n, &s, true));
        ceil_mode = mo_attr_int(n, "ceil_mode", 0);
        count_pad = mo_attr_int(n, "count_include_pad", 0);
    }
    bool one_d = s.n == 1;
    if (one_d) {
        lift_spatial(&s);
        MT_TRY(x = lift_tensor(c, n, x, "to2d"));
    }
    /* 8-bit max pooling is exact in float32 (the pool kernels are float) */
    me_dtype in_dt = mo_t(c, x)->dtype;
    bool via_f32 = is_max && (in_dt == ME_DT_U8 || in_dt == ME_DT_I8);
    if (via_f32) MT_TRY(x = mo_cast(c, n, x, ME_DT_F32, "to_f32"));
    int xn = mo_to_nhwc(c, n, x);
    MT_TRY(xn);
    int node = mo_node(c, n, is_max ? ME_OP_POOL_MAX2D : ME_OP_POOL_AVG2D, &xn, 1, 1, NULL);
    MT_TRY(node);
    MT_OK(mt_u32s(c, node, "filter_size", 2, s.k));
    MT_OK(set_spatial_params(c, node, &s, true));
    if (ceil_mode) me_node_set_scalar_u32(mo_graph(c), node, "rounding_mode", 1);
    if (!is_max && count_pad) me_node_set_scalar_bool(mo_graph(c), node, "count_pad_for_edges", true);
    int y = mt_finish1(c, node);
    MT_TRY(y);
    MT_TRY(y = mo_to_nchw(c, n, y));
    if (via_f32) MT_TRY(y = mo_cast(c, n, y, in_dt, "from_f32"));
    if (one_d) MT_TRY(y = unlift_tensor(c, n, y));
    return mt_bind(c, n, 0, y);
}

/* Gemm: Y = alpha * A' B' + beta * C -> FullyConnected (weights [N, K]). */
me_status mo_tr_gemm(mo_ctx *c, const onnx_node *n) {
    int a = mo_in(c, n, 0), b = mo_in(c, n, 1), cc = mo_in(c, n, 2);
    if (a < 0 || b < 0) return mo_error(c, n, ME_ERR_FORMAT, "A and B are required");
    if (mo_t(c, a)->rank != 2 || mo_t(c, b)->rank != 2) return mo_error(c, n, ME_ERR_FORMAT, "A and B must be 2-D");
    float alpha = mo_attr_float(n, "alpha", 1.0f), beta = mo_attr_float(n, "beta", 1.0f);
    bool ta = mo_attr_int(n, "transA", 0) != 0, tb = mo_attr_int(n, "transB", 0) != 0;
    static const int swap[2] = {1, 0};
    if (ta) MT_TRY(a = mo_transpose(c, n, a, swap, "transA"));
    int64_t ncols = tb ? mo_t(c, b)->dims[0] : mo_t(c, b)->dims[1];
    int y;
    bool bias_used = false;
    int cb = cc;
    if (cc >= 0 && beta != 1.0f) {
        int k = mt_scalar(c, mo_t(c, cc)->dtype, beta);
        MT_TRY(k);
        MT_TRY(cb = mo_binary(c, n, ME_OP_MULTIPLY, cc, k, "beta"));
    }
    if (tb || mo_is_const(c, b)) {
        int w = b;
        if (!tb) MT_TRY(w = mo_transpose(c, n, b, swap, "weights"));
        bool as_bias = cb >= 0 && alpha == 1.0f && mo_t(c, cb)->rank == 1 && mo_t(c, cb)->dims[0] == ncols &&
                       mo_t(c, cb)->dtype == mo_t(c, a)->dtype;
        int ins[3] = {a, w, as_bias ? cb : -1};
        MT_TRY(y = mo_emit1(c, n, ME_OP_FULLY_CONNECTED, ins, as_bias ? 3 : 2, NULL));
        bias_used = as_bias;
    } else {
        MT_TRY(y = mo_binary(c, n, ME_OP_MATMUL, a, b, NULL));
    }
    if (alpha != 1.0f) {
        int k = mt_scalar(c, mo_t(c, y)->dtype, alpha);
        MT_TRY(k);
        MT_TRY(y = mo_binary(c, n, ME_OP_MULTIPLY, y, k, "alpha"));
    }
    if (cb >= 0 && !bias_used) MT_TRY(y = mo_binary(c, n, ME_OP_ADD, y, cb, "bias"));
    return mt_bind(c, n, 0, y);
}

me_status mo_tr_matmul(mo_ctx *c, const onnx_node *n) {
    int a = mo_in(c, n, 0), b = mo_in(c, n, 1);
    if (a < 0 || b < 0) return mo_error(c, n, ME_ERR_FORMAT, "A and B are required");
    int ra = mo_t(c, a)->rank, rb = mo_t(c, b)->rank;
    if (ra < 1 || rb < 1) return mo_error(c, n, ME_ERR_FORMAT, "MatMul operands must have rank >= 1");
    if (ra == 1) {
        int64_t d[2] = {1, mo_t(c, a)->dims[0]};
        MT_TRY(a = mo_reshape(c, n, a, 2, d, "a2d"));
    }
    if (rb == 1) {
        int64_t d[2] = {mo_t(c, b)->dims[0], 1};
        MT_TRY(b = mo_reshape(c, n, b, 2, d, "b2d"));
    }
    int y = mo_binary(c, n, ME_OP_MATMUL, a, b, NULL);
    MT_TRY(y);
    if (ra == 1 || rb == 1) {
        const me_tensor *ty = mo_t(c, y);
        int64_t d[ME_MAX_RANK];
        int r = 0;
        for (int i = 0; i < ty->rank; i++) {
            if (ra == 1 && i == ty->rank - 2) continue;
            if (rb == 1 && i == ty->rank - 1) continue;
            d[r++] = ty->dims[i];
        }
        MT_TRY(y = mo_reshape(c, n, y, r, d, "squeeze"));
    }
    return mt_bind(c, n, 0, y);
}

/* BatchNormalization (inference): w = scale / sqrt(var + eps),
 * b = bias - mean * w, built from IR ops so constants fold. */
me_status mo_tr_batchnorm(mo_ctx *c, const onnx_node *n) {
    if (mo_attr_int(n, "training_mode", 0) != 0)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "training_mode=1 is not supported");
    if (mo_opset(c) < 9 && mo_attr_int(n, "spatial", 1) == 0)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "spatial=0 is not supported");
    for (int i = 1; i < n->n_out; i++)
        if (n->outputs[i][0])
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "training outputs (running mean/var) are not supported");
    int in[5];
    for (int i = 0; i < 5; i++) {
        in[i] = mo_in(c, n, i);
        if (in[i] < 0) return mo_error(c, n, ME_ERR_FORMAT, "input %d is missing", i);
    }
    int x = in[0];
    int rank = mo_t(c, x)->rank;
    if (rank < 2) return mo_error(c, n, ME_ERR_FORMAT, "input must have rank >= 2");
    if (rank > 5) return mo_error(c, n, ME_ERR_UNSUPPORTED, "input of rank %d is not supported", rank);
    float eps = mo_attr_float(n, "epsilon", 1e-5f);
    int e = mt_scalar(c, mo_t(c, in[4])->dtype, eps);
    MT_TRY(e);
    int t;
    MT_TRY(t = mo_binary(c, n, ME_OP_ADD, in[4], e, "var_eps"));
    MT_TRY(t = mo_unary(c, n, ME_OP_SQRT, t, "std"));
    int w;
    MT_TRY(w = mo_binary(c, n, ME_OP_DIVIDE, in[1], t, "weight"));
    int mw;
    MT_TRY(mw = mo_binary(c, n, ME_OP_MULTIPLY, in[3], w, "mean_w"));
    int b;
    MT_TRY(b = mo_binary(c, n, ME_OP_SUBTRACT, in[2], mw, "bias"));
    int xn = x;
    if (rank > 2) MT_TRY(xn = mo_to_nhwc(c, n, x));
    int ins[3] = {xn, w, b};
    int y = mo_emit1(c, n, ME_OP_BATCHNORM, ins, 3, NULL);
    MT_TRY(y);
    if (rank > 2) MT_TRY(y = mo_to_nchw(c, n, y));
    return mt_bind(c, n, 0, y);
}
