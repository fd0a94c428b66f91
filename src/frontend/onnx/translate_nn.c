/* ONNX -> IR translators: normalisations, LRN, Resize/Upsample,
 * DepthToSpace/SpaceToDepth, TopK, CumSum, Trilu, Quantize/DequantizeLinear
 * and If with a constant condition.
 *
 * ONNX tensors stay in ONNX (NCHW) layout; ops that QNN defines on a
 * channel-last layout (InstanceNorm, GroupNorm, Lrn, DepthToSpace, Resize)
 * are wrapped between mo_to_nhwc and mo_to_nchw. */
#include <math.h>
#include <string.h>

#include "../../core/util.h"
#include "translate_build.h"


/* ONNX axis (may be negative) -> [0, rank), or -1 if out of range. */
static int norm_axis(int64_t axis, int rank) {
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < rank ? (int)axis : -1;
}

/* ---------------------------------------------------------------- norms */

/* True if p holds exactly the normalised dims x.dims[axis..] (up to leading 1s),
 * so it can be passed to LayerNorm/RmsNorm as gamma/beta. */
static bool matches_norm_shape(const me_tensor *p, const me_tensor *x, int axis) {
    int nr = x->rank - axis;
    if (me_shape_numel(p->rank, p->dims) != me_shape_numel(nr, x->dims + axis)) return false;
    int k = p->rank > nr ? p->rank : nr;
    for (int i = 0; i < k; i++) {
        int64_t pd = i < p->rank ? p->dims[p->rank - 1 - i] : 1;
        int64_t xd = i < nr ? x->dims[x->rank - 1 - i] : 1;
        if (pd != xd) return false;
    }
    return true;
}

/* Mean and 1/sqrt(var + eps) over axes (keep_dims), the extra outputs of
 * LayerNormalization. */
static me_status layer_norm_stats(mo_ctx *c, const onnx_node *n, int x, const int64_t *axes, int n_axes,
                                  float eps) {
    int mean = mo_build_reduce(c, n, ME_OP_REDUCE_MEAN, x, axes, n_axes, true, "mean");
    TRY_T(mean);
    if (output_used(n, 1)) TRY_ST(mo_bind(c, n, 1, mean));
    if (!output_used(n, 2)) return ME_OK;
    int diff = mo_binary(c, n, ME_OP_SUBTRACT, x, mean, "centered");
    TRY_T(diff);
    int sq = mo_binary(c, n, ME_OP_MULTIPLY, diff, diff, "sq");
    TRY_T(sq);
    int var = mo_build_reduce(c, n, ME_OP_REDUCE_MEAN, sq, axes, n_axes, true, "var");
    TRY_T(var);
    int e = mo_build_scalar(c, mo_t(c, var)->dtype, eps);
    TRY_T(e);
    int ve = mo_binary(c, n, ME_OP_ADD, var, e, "var_eps");
    TRY_T(ve);
    int inv = mo_unary(c, n, ME_OP_RSQRT, ve, "inv_std");
    TRY_T(inv);
    return mo_bind(c, n, 2, inv);
}

/* LayerNormalization / RMSNormalization over dims axis..rank-1. */
static me_status tr_layer_or_rms(mo_ctx *c, const onnx_node *n, bool rms) {
    int x = mo_in(c, n, 0), scale = mo_in(c, n, 1), bias = rms ? -1 : mo_in(c, n, 2);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input X is missing");
    const me_tensor *xt = mo_t(c, x);
    int rank = xt->rank;
    int axis = norm_axis(mo_attr_int(n, "axis", -1), rank);
    if (axis < 0)
        return mo_error(c, n, ME_ERR_FORMAT, "axis %lld is out of range for rank %d",
                        (long long)mo_attr_int(n, "axis", -1), rank);
    float eps = mo_attr_float(n, "epsilon", 1e-5f);
    int64_t axes[ME_MAX_RANK];
    int n_axes = rank - axis;
    for (int i = 0; i < n_axes; i++) axes[i] = axis + i;
    int64_t norm_dims[ME_MAX_RANK];
    for (int i = 0; i < n_axes; i++) norm_dims[i] = xt->dims[axis + i];

    /* gamma/beta go into the op when they have the normalised shape; any other
     * (broadcastable) shape is applied afterwards. */
    int gamma = -1, beta = -1;
    bool post_scale = false, post_bias = false;
    if (scale >= 0) {
        if (matches_norm_shape(mo_t(c, scale), mo_t(c, x), axis)) {
            gamma = scale;
            if (mo_t(c, gamma)->rank != n_axes) {
                gamma = mo_reshape(c, n, gamma, n_axes, norm_dims, "gamma");
                TRY_T(gamma);
            }
        } else {
            post_scale = true;
        }
    }
    if (bias >= 0) {
        if (!post_scale && matches_norm_shape(mo_t(c, bias), mo_t(c, x), axis)) {
            beta = bias;
            if (mo_t(c, beta)->rank != n_axes) {
                beta = mo_reshape(c, n, beta, n_axes, norm_dims, "beta");
                TRY_T(beta);
            }
        } else {
            post_bias = true;
        }
    }
    if (gamma < 0 && beta >= 0) { /* the op takes beta only after gamma: use ones */
        gamma = mo_build_fill_f32(c, "gamma_ones", n_axes, norm_dims, 1.0f);
        TRY_T(gamma);
        if (mo_t(c, x)->dtype != ME_DT_F32) {
            gamma = mo_cast(c, n, gamma, mo_t(c, x)->dtype, "gamma_cast");
            TRY_T(gamma);
        }
    }
    int ins[3] = {x, gamma, beta};
    int n_in = beta >= 0 ? 3 : gamma >= 0 ? 2 : 1;
    int node = mo_node(c, n, rms ? ME_OP_RMS_NORM : ME_OP_LAYER_NORM, ins, n_in, 1, rms ? "rms_norm" : "layer_norm");
    if (node < 0) return mo_build_failed(c, n);
    int64_t adims[1] = {n_axes};
    if (me_node_set_scalar_f32(mo_graph(c), node, "epsilon", eps) != ME_OK ||
        me_node_set_tensor_int(mo_graph(c), node, "axes", ME_DT_U32, 1, adims, axes) != ME_OK)
        return mo_build_failed(c, n);
    int y;
    TRY_ST(mo_finish(c, node, &y));
    if (post_scale) {
        y = mo_binary(c, n, ME_OP_MULTIPLY, y, scale, "scale");
        TRY_T(y);
    }
    if (post_bias) {
        y = mo_binary(c, n, ME_OP_ADD, y, bias, "bias");
        TRY_T(y);
    }
    TRY_ST(mo_bind(c, n, 0, y));
    if (!rms && (output_used(n, 1) || output_used(n, 2))) return layer_norm_stats(c, n, x, axes, n_axes, eps);
    return ME_OK;
}

/* Per-channel [C] vector from an ONNX scale/bias that is [C] or (opset 18
 * GroupNormalization) [num_groups]: each group value repeated C/G times. */
static int per_channel(mo_ctx *c, const onnx_node *n, int t, int64_t channels, int64_t groups, const char *what) {
    const me_tensor *p = mo_t(c, t);
    int64_t numel = me_shape_numel(p->rank, p->dims);
    if (numel == channels) {
        if (p->rank == 1) return t;
        return mo_reshape(c, n, t, 1, &channels, what);
    }
    if (numel != groups || groups <= 0 || channels % groups != 0) {
        mo_error(c, n, ME_ERR_FORMAT, "%s has %lld elements, expected %lld (channels) or %lld (groups)", what,
                 (long long)numel, (long long)channels, (long long)groups);
        return -1;
    }
    int64_t gd[2] = {groups, 1};
    int r = mo_reshape(c, n, t, 2, gd, what);
    if (r < 0) return -1;
    int64_t mult[2] = {1, channels / groups};
    r = mo_build_tile(c, n, r, mult, what);
    if (r < 0) return -1;
    return mo_reshape(c, n, r, 1, &channels, what);
}

/* InstanceNormalization / GroupNormalization: channel-last ops. */
static me_status tr_instance_or_group(mo_ctx *c, const onnx_node *n, bool group) {
    int x = mo_in(c, n, 0), scale = mo_in(c, n, 1), bias = mo_in(c, n, 2);
    if (x < 0 || scale < 0 || bias < 0) return mo_error(c, n, ME_ERR_FORMAT, "inputs X, scale and B are required");
    const me_tensor *xt = mo_t(c, x);
    if (xt->rank < 3) return mo_error(c, n, ME_ERR_FORMAT, "input rank %d: at least 3 (N, C, D1...) expected", xt->rank);
    int64_t channels = xt->dims[1];
    float eps = mo_attr_float(n, "epsilon", 1e-5f);
    int64_t groups = 0;
    if (group) {
        groups = mo_attr_int(n, "num_groups", 0);
        if (groups <= 0 || channels % groups != 0)
            return mo_error(c, n, ME_ERR_FORMAT, "num_groups %lld does not divide the %lld channels",
                            (long long)groups, (long long)channels);
    }
    int gamma = per_channel(c, n, scale, channels, group ? groups : channels, "scale");
    TRY_T(gamma);
    int beta = per_channel(c, n, bias, channels, group ? groups : channels, "bias");
    TRY_T(beta);
    int xn = mo_to_nhwc(c, n, x);
    TRY_T(xn);
    int ins[3] = {xn, gamma, beta};
    int node = mo_node(c, n, group ? ME_OP_GROUP_NORM : ME_OP_INSTANCE_NORM, ins, 3, 1,
                       group ? "group_norm" : "instance_norm");
    if (node < 0) return mo_build_failed(c, n);
    if (me_node_set_scalar_f32(mo_graph(c), node, "epsilon", eps) != ME_OK) return mo_build_failed(c, n);
    if (group && me_node_set_scalar_u32(mo_graph(c), node, "group", (uint32_t)groups) != ME_OK) return mo_build_failed(c, n);
    int y;
    TRY_ST(mo_finish(c, node, &y));
    y = mo_to_nchw(c, n, y);
    TRY_T(y);
    return mo_bind(c, n, 0, y);
}

me_status mo_tr_norm(mo_ctx *c, const onnx_node *n) {
    if (strcmp(n->op_type, "LayerNormalization") == 0) return tr_layer_or_rms(c, n, false);
    if (strcmp(n->op_type, "RMSNormalization") == 0) return tr_layer_or_rms(c, n, true);
    if (strcmp(n->op_type, "GroupNormalization") == 0) return tr_instance_or_group(c, n, true);
    return tr_instance_or_group(c, n, false);
}

me_status mo_tr_lrn(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input X is missing");
    if (mo_t(c, x)->rank < 3) return mo_error(c, n, ME_ERR_FORMAT, "input rank %d: at least 3 expected", mo_t(c, x)->rank);
    int64_t size = mo_attr_int(n, "size", 0);
    if (size <= 0) return mo_error(c, n, ME_ERR_FORMAT, "attribute size must be positive (got %lld)", (long long)size);
    if (size % 2 == 0)
        return mo_error(c, n, ME_ERR_UNSUPPORTED,
                        "attribute size=%lld: an even window is asymmetric, only odd sizes are supported",
                        (long long)size);
    if (size > 0x7fffffff) return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute size=%lld is too large", (long long)size);
    float alpha = mo_attr_float(n, "alpha", 1e-4f), beta = mo_attr_float(n, "beta", 0.75f);
    float bias = mo_attr_float(n, "bias", 1.0f);
    int xn = mo_to_nhwc(c, n, x);
    TRY_T(xn);
    int node = mo_node(c, n, ME_OP_LRN, &xn, 1, 1, "lrn");
    if (node < 0) return mo_build_failed(c, n);
    me_graph *g = mo_graph(c);
    /* QNN's alpha multiplies each squared element; ONNX divides alpha by size. */
    if (me_node_set_scalar_f32(g, node, "alpha", alpha / (float)size) != ME_OK ||
        me_node_set_scalar_f32(g, node, "beta", beta) != ME_OK ||
        me_node_set_scalar_f32(g, node, "bias", bias) != ME_OK ||
        me_node_set_scalar_u32(g, node, "radius", (uint32_t)((size - 1) / 2)) != ME_OK ||
        me_node_set_scalar_u32(g, node, "region", 0) != ME_OK)
        return mo_build_failed(c, n);
    int y;
    TRY_ST(mo_finish(c, node, &y));
    y = mo_to_nchw(c, n, y);
    TRY_T(y);
    return mo_bind(c, n, 0, y);
}

/* --------------------------------------------------------------- resize */

enum { RS_HALF_PIXEL = 0, RS_PYTORCH_HALF_PIXEL = 1, RS_ALIGN_CORNERS = 2, RS_ASYMMETRIC = 3 };
enum { RS_NEAREST = 0, RS_LINEAR = 1, RS_CUBIC = 2 };
enum { RS_ROUND_PREFER_FLOOR = 0, RS_ROUND_PREFER_CEIL = 1, RS_FLOOR = 2, RS_CEIL = 3 };

typedef struct resize_cfg {
    int transform, interp, nearest;
    bool half_pixel_symmetric, exclude_outside;
    float cubic_coeff;
    /* modes QNN's Resize lacks, done with constant interpolation matrices */
    bool tf_crop, tf_half_pixel;
    float extrapolation;
} resize_cfg;

static bool input_present(mo_ctx *c, const onnx_node *n, int i) {
    int t = mo_in(c, n, i);
    if (t < 0) return false;
    const me_tensor *tt = mo_t(c, t);
    return me_shape_numel(tt->rank, tt->dims) > 0;
}

static me_status resize_mode(mo_ctx *c, const onnx_node *n, const char *mode, resize_cfg *cfg) {
    if (strcmp(mode, "nearest") == 0) cfg->interp = RS_NEAREST;
    else if (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0) cfg->interp = RS_LINEAR;
    else if (strcmp(mode, "cubic") == 0 && strcmp(n->op_type, "Resize") == 0) cfg->interp = RS_CUBIC;
    else return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute mode='%s' is not supported", mode);
    return ME_OK;
}

/* Attributes of Resize-11+ (coordinate transform, nearest rounding, cubic). */
static me_status resize_attrs(mo_ctx *c, const onnx_node *n, resize_cfg *cfg) {
    const char *ct = mo_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    if (strcmp(ct, "half_pixel") == 0) cfg->transform = RS_HALF_PIXEL;
    else if (strcmp(ct, "half_pixel_symmetric") == 0) cfg->transform = RS_HALF_PIXEL, cfg->half_pixel_symmetric = true;
    else if (strcmp(ct, "pytorch_half_pixel") == 0) cfg->transform = RS_PYTORCH_HALF_PIXEL;
    else if (strcmp(ct, "align_corners") == 0) cfg->transform = RS_ALIGN_CORNERS;
    else if (strcmp(ct, "asymmetric") == 0) cfg->transform = RS_ASYMMETRIC;
    else if (strcmp(ct, "tf_crop_and_resize") == 0) cfg->tf_crop = true;
    else if (strcmp(ct, "tf_half_pixel_for_nn") == 0) cfg->tf_half_pixel = true;
    else
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute coordinate_transformation_mode='%s' is not supported", ct);
    const char *nm = mo_attr_str(n, "nearest_mode", "round_prefer_floor");
    if (strcmp(nm, "round_prefer_floor") == 0) cfg->nearest = RS_ROUND_PREFER_FLOOR;
    else if (strcmp(nm, "round_prefer_ceil") == 0) cfg->nearest = RS_ROUND_PREFER_CEIL;
    else if (strcmp(nm, "floor") == 0) cfg->nearest = RS_FLOOR;
    else if (strcmp(nm, "ceil") == 0) cfg->nearest = RS_CEIL;
    else return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute nearest_mode='%s' is not supported", nm);
    cfg->cubic_coeff = mo_attr_float(n, "cubic_coeff_a", -0.75f);
    int64_t excl = mo_attr_int(n, "exclude_outside", 0);
    if (excl != 0 && excl != 1)
        return mo_error(c, n, ME_ERR_FORMAT, "attribute exclude_outside=%lld must be 0 or 1", (long long)excl);
    cfg->exclude_outside = excl == 1;
    cfg->extrapolation = mo_attr_float(n, "extrapolation_value", 0.0f);
    return ME_OK;
}

/* The axes attribute (opset 18+), default all axes. */
static me_status resize_axes(mo_ctx *c, const onnx_node *n, int rank, int *axes, int *n_axes) {
    *n_axes = rank;
    for (int i = 0; i < rank; i++) axes[i] = i;
    const int64_t *attr_axes;
    int na = mo_attr_ints(n, "axes", &attr_axes);
    if (na < 0) return ME_OK;
    if (na == 0 || na > rank) return mo_error(c, n, ME_ERR_FORMAT, "attribute axes has %d entries for rank %d", na, rank);
    bool seen[ME_MAX_RANK] = {false};
    for (int i = 0; i < na; i++) {
        int a = norm_axis(attr_axes[i], rank);
        if (a < 0 || seen[a])
            return mo_error(c, n, ME_ERR_FORMAT, "attribute axes: entry %lld is out of range or repeated",
                            (long long)attr_axes[i]);
        seen[a] = true;
        axes[i] = a;
    }
    *n_axes = na;
    return ME_OK;
}

/* Output dims and per-axis scales from the scales or sizes input (ONNX rules:
 * floor(in * scale) for scales; sizes with keep_aspect_ratio_policy). */
static me_status resize_shape(mo_ctx *c, const onnx_node *n, const me_tensor *xt, int scales_in, int sizes_in,
                              const float *attr_scales, int n_attr_scales, int64_t *out_dims, double *scales) {
    int rank = xt->rank;
    int axes[ME_MAX_RANK], n_axes;
    TRY_ST(resize_axes(c, n, rank, axes, &n_axes));
    for (int i = 0; i < rank; i++) {
        out_dims[i] = xt->dims[i];
        scales[i] = 1.0;
    }
    if (attr_scales != NULL || scales_in >= 0) {
        const float *sv = attr_scales;
        int64_t cnt = n_attr_scales;
        if (attr_scales == NULL) {
            float *v;
            TRY_ST(mo_const_floats(c, n, scales_in, &v, &cnt));
            sv = v;
        }
        if (cnt != n_axes) return mo_error(c, n, ME_ERR_FORMAT, "scales has %lld entries, expected %d", (long long)cnt, n_axes);
        for (int i = 0; i < n_axes; i++) {
            int a = axes[i];
            if (!(sv[i] > 0.0f) || !isfinite(sv[i]))
                return mo_error(c, n, ME_ERR_FORMAT, "scale %g for axis %d must be positive", sv[i], a);
            double od = floor((double)xt->dims[a] * (double)sv[i]);
            if (od < 1 || od > (double)ME_MAX_TENSOR_BYTES)
                return mo_error(c, n, ME_ERR_FORMAT, "scale %g gives an output size of %.0f on axis %d", sv[i], od, a);
            out_dims[a] = (int64_t)od;
            scales[a] = sv[i];
        }
        return ME_OK;
    }
    int64_t *sz, cnt;
    TRY_ST(mo_const_ints(c, n, sizes_in, &sz, &cnt));
    if (cnt != n_axes) return mo_error(c, n, ME_ERR_FORMAT, "sizes has %lld entries, expected %d", (long long)cnt, n_axes);
    for (int i = 0; i < n_axes; i++)
        if (sz[i] <= 0 || sz[i] > ME_MAX_TENSOR_BYTES)
            return mo_error(c, n, ME_ERR_FORMAT, "sizes[%d]=%lld must be positive", i, (long long)sz[i]);
    const char *policy = mo_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    if (strcmp(policy, "stretch") == 0) {
        for (int i = 0; i < n_axes; i++) {
            int a = axes[i];
            if (xt->dims[a] <= 0) return mo_error(c, n, ME_ERR_FORMAT, "cannot resize an empty axis %d", a);
            out_dims[a] = sz[i];
            scales[a] = (double)sz[i] / (double)xt->dims[a];
        }
        return ME_OK;
    }
    bool larger = strcmp(policy, "not_smaller") == 0;
    if (!larger && strcmp(policy, "not_larger") != 0)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute keep_aspect_ratio_policy='%s' is not supported", policy);
    double s = larger ? 0.0 : INFINITY;
    for (int i = 0; i < n_axes; i++) {
        int a = axes[i];
        if (xt->dims[a] <= 0) return mo_error(c, n, ME_ERR_FORMAT, "cannot resize an empty axis %d", a);
        double r = (double)sz[i] / (double)xt->dims[a];
        s = larger ? fmax(s, r) : fmin(s, r);
    }
    for (int i = 0; i < n_axes; i++) {
        int a = axes[i];
        double od = floor(s * (double)xt->dims[a] + 0.5);
        if (od < 1 || od > (double)ME_MAX_TENSOR_BYTES)
            return mo_error(c, n, ME_ERR_FORMAT, "output size %.0f on axis %d is invalid", od, a);
        out_dims[a] = (int64_t)od;
        scales[a] = s;
    }
    return ME_OK;
}

/* Interpolation weights of one output position, following ONNX's reference
 * Resize: a coefficient vector over the n input positions nearest to the
 * source coordinate (edge-padded), optionally antialiased and renormalised. */
static int resize_coeffs(const resize_cfg *cfg, bool antialias, double ratio, double scale, double *co, int cap) {
    int cnt = 0;
    if (cfg->interp == RS_NEAREST) {
        bool up;
        if (ratio == 1.0) up = true;
        else if (cfg->nearest == RS_ROUND_PREFER_FLOOR) up = ratio > 0.5;
        else if (cfg->nearest == RS_ROUND_PREFER_CEIL) up = ratio >= 0.5;
        else up = cfg->nearest == RS_CEIL;
        co[0] = up ? 0.0 : 1.0;
        co[1] = up ? 1.0 : 0.0;
        return 2;
    }
    double s = antialias && scale < 1.0 ? scale : 1.0;
    double sum = 0.0;
    if (cfg->interp == RS_LINEAR) {
        int start = (int)floor(-1.0 / s) + 1, footprint = 2 - 2 * start;
        if (footprint > cap) return -1;
        for (int i = 0; i < footprint; i++) {
            double a = fabs(((double)(start + i) - ratio) * s);
            co[cnt] = a < 1.0 ? 1.0 - a : 0.0;
            sum += co[cnt++];
        }
    } else {
        double A = cfg->cubic_coeff;
        int start = (int)floor(-2.0 / s) + 1, end = 2 - start;
        if (end - start > cap) return -1;
        for (int i = start; i < end; i++) {
            double x = fabs(s * ((double)i - ratio)), x2 = x * x, x3 = x2 * x, v;
            if (x <= 1.0) v = (A + 2) * x3 - (A + 3) * x2 + 1;
            else if (x < 2.0) v = A * x3 - 5 * A * x2 + 8 * A * x - 4 * A;
            else v = 0.0;
            co[cnt] = v;
            sum += co[cnt++];
        }
    }
    if (sum == 0.0) return -1;
    for (int i = 0; i < cnt; i++) co[i] /= sum;
    return cnt;
}

/* Matrix W [out, in] and bias [out] of a 1-D resize of one axis. Returns
 * false when the reference formula breaks down (too small a scale). */
static bool resize_axis_matrix(const resize_cfg *cfg, bool antialias, int64_t in, int64_t out, double scale,
                               double roi0, double roi1, float *w, float *bias) {
    enum { CAP = 4096 };
    static double co[CAP];
    for (int64_t o = 0; o < out; o++) {
        float *row = w + o * in;
        for (int64_t i = 0; i < in; i++) row[i] = 0.0f;
        bias[o] = 0.0f;
        double x = (double)o, xo;
        if (cfg->tf_crop) {
            xo = out == 1 ? (roi1 - roi0) * (double)(in - 1) / 2.0 : x * (roi1 - roi0) * (double)(in - 1) / (double)(out - 1);
            xo += roi0 * (double)(in - 1);
            if (xo < 0.0 || xo > (double)(in - 1)) {
                bias[o] = cfg->extrapolation;
                continue;
            }
        } else if (cfg->tf_half_pixel) {
            xo = (x + 0.5) / scale;
        } else if (cfg->half_pixel_symmetric) {
            double adj = (double)out / (scale * (double)in);
            xo = (double)in / 2.0 * (1.0 - adj) + (x + 0.5) / scale - 0.5;
        } else if (cfg->transform == RS_HALF_PIXEL) {
            xo = (x + 0.5) / scale - 0.5;
        } else if (cfg->transform == RS_PYTORCH_HALF_PIXEL) {
            xo = out == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
        } else if (cfg->transform == RS_ALIGN_CORNERS) {
            xo = out == 1 ? 0.0 : x * (double)(in - 1) / (double)(out - 1);
        } else {
            xo = x / scale;
        }
        double fl = floor(xo), ratio = xo == fl ? 1.0 : xo - fl;
        int cnt = resize_coeffs(cfg, antialias, ratio, scale, co, CAP);
        if (cnt < 0) return false;
        /* the cnt nearest positions of the edge-padded axis (ties: the lower) */
        int64_t pad = (cnt + 1) / 2, len = in + 2 * pad;
        if (cnt > len) return false;
        double xp = xo + (double)pad;
        int64_t lo = (int64_t)floor(xp);
        if (lo < 0) lo = 0;
        if (lo > len - 1) lo = len - 1;
        if (lo + 1 <= len - 1 && fabs(xp - (double)(lo + 1)) < fabs(xp - (double)lo)) lo++;
        int64_t hi = lo;
        for (int k = 1; k < cnt; k++) {
            bool left_ok = lo - 1 >= 0, right_ok = hi + 1 <= len - 1;
            if (left_ok && (!right_ok || fabs(xp - (double)(lo - 1)) <= fabs(xp - (double)(hi + 1)))) lo--;
            else hi++;
        }
        if (cfg->exclude_outside) {
            double sum = 0.0;
            for (int k = 0; k < cnt; k++) {
                int64_t src = lo + k - pad;
                if (src < 0 || src >= in) co[k] = 0.0;
                sum += co[k];
            }
            if (sum == 0.0) return false;
            for (int k = 0; k < cnt; k++) co[k] /= sum;
        }
        for (int k = 0; k < cnt; k++) {
            int64_t src = lo + k - pad;
            src = src < 0 ? 0 : src >= in ? in - 1 : src;
            row[src] += (float)co[k];
        }
    }
    return true;
}

/* Resize as one MatMul per resized axis with a constant interpolation
 * matrix: x viewed as [before, in, after], W [out, in] @ x (+ extrapolation
 * constant for tf_crop_and_resize). Exact for separable ONNX Resize. */
static me_status resize_by_matmul(mo_ctx *c, const onnx_node *n, int x, const resize_cfg *cfg, bool antialias,
                                  const int64_t *out_dims, const double *scales) {
    int rank = mo_t(c, x)->rank;
    me_dtype dt = mo_t(c, x)->dtype;
    if (dt != ME_DT_F32 && dt != ME_DT_F16)
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "this Resize mode supports float tensors only (input is %s)",
                        me_dtype_name(dt));
    double roi[2 * ME_MAX_RANK];
    for (int i = 0; i < rank; i++) roi[i] = 0.0, roi[rank + i] = 1.0;
    if (cfg->tf_crop) {
        int axes[ME_MAX_RANK], n_axes;
        TRY_ST(resize_axes(c, n, rank, axes, &n_axes));
        if (mo_in(c, n, 1) < 0) return mo_error(c, n, ME_ERR_FORMAT, "tf_crop_and_resize needs the roi input");
        float *rv;
        int64_t cnt;
        TRY_ST(mo_const_floats(c, n, 1, &rv, &cnt));
        if (cnt != 2 * n_axes) return mo_error(c, n, ME_ERR_FORMAT, "roi has %lld values, expected %d", (long long)cnt, 2 * n_axes);
        for (int i = 0; i < n_axes; i++) roi[axes[i]] = rv[i], roi[rank + axes[i]] = rv[n_axes + i];
    }
    int y = x;
    if (dt != ME_DT_F32) TRY_T(y = mo_cast(c, n, y, ME_DT_F32, "x_f32"));
    int64_t cur[ME_MAX_RANK];
    memcpy(cur, mo_t(c, x)->dims, sizeof(int64_t) * (size_t)rank);
    for (int a = 0; a < rank; a++) {
        int64_t in = cur[a], out = out_dims[a], wn;
        if (!me_mul_i64(in, out, &wn) || wn > ME_MAX_TENSOR_BYTES / 4 || in <= 0)
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "axis %d: %lld -> %lld is too large for this Resize mode", a,
                            (long long)in, (long long)out);
        float *w = mo_build_alloc(c, (size_t)wn, sizeof(float));
        float *bias = mo_build_alloc(c, (size_t)out, sizeof(float));
        if (w == NULL || bias == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
        if (!resize_axis_matrix(cfg, antialias, in, out, scales[a], roi[a], roi[rank + a], w, bias))
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "axis %d: scale %g is too small for this Resize mode", a, scales[a]);
        bool identity = in == out, has_bias = false;
        for (int64_t o = 0; o < out; o++) {
            has_bias |= bias[o] != 0.0f;
            for (int64_t i = 0; i < in && identity; i++) identity = w[o * in + i] == (o == i ? 1.0f : 0.0f);
        }
        if (identity && !has_bias) continue;
        int64_t before = 1, after = 1;
        for (int i = 0; i < a; i++) before *= cur[i];
        for (int i = a + 1; i < rank; i++) after *= cur[i];
        int64_t d3[3] = {before, in, after}, wd[2] = {out, in}, bd[2] = {out, 1};
        int wt = mo_const(c, "resize_weights", ME_DT_F32, 2, wd, w);
        TRY_T(wt);
        TRY_T(y = mo_reshape(c, n, y, 3, d3, "resize_view"));
        TRY_T(y = mo_build_matmul(c, n, wt, y, false, false, "resize_axis"));
        if (has_bias) {
            int bt = mo_const(c, "resize_extrapolation", ME_DT_F32, 2, bd, bias);
            TRY_T(bt);
            TRY_T(y = mo_binary(c, n, ME_OP_ADD, y, bt, "resize_extrapolate"));
        }
        cur[a] = out;
        TRY_T(y = mo_reshape(c, n, y, rank, cur, "resize_axis_out"));
    }
    if (dt != ME_DT_F32) TRY_T(y = mo_cast(c, n, y, dt, "y_cast"));
    return mo_bind(c, n, 0, y);
}

me_status mo_tr_resize(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input X is missing");
    bool upsample = strcmp(n->op_type, "Upsample") == 0;
    int64_t opset = mo_opset(c);
    resize_cfg cfg = {RS_ASYMMETRIC, RS_NEAREST, RS_FLOOR, false, false, -0.75f, false, false, 0.0f};
    TRY_ST(resize_mode(c, n, mo_attr_str(n, "mode", "nearest"), &cfg));

    const float *attr_scales = NULL;
    int n_attr_scales = 0, scales_in = -1, sizes_in = -1;
    if (upsample || opset < 11) {
        /* Upsample and Resize-10: scales only, asymmetric coordinates,
         * nearest picks floor (repeat semantics). */
        if (upsample && opset < 9) {
            n_attr_scales = mo_attr_floats(n, "scales", &attr_scales);
            if (n_attr_scales < 0) return mo_error(c, n, ME_ERR_FORMAT, "attribute scales is missing");
        } else {
            if (!input_present(c, n, 1)) return mo_error(c, n, ME_ERR_FORMAT, "input scales is missing");
            scales_in = 1;
        }
    } else {
        TRY_ST(resize_attrs(c, n, &cfg));
        bool has_scales = input_present(c, n, 2), has_sizes = input_present(c, n, 3);
        if (has_scales == has_sizes)
            return mo_error(c, n, ME_ERR_FORMAT, "exactly one of the inputs scales and sizes must be given");
        if (has_scales) scales_in = 2;
        else sizes_in = 3;
    }

    const me_tensor *xt = mo_t(c, x);
    int rank = xt->rank;
    if (rank < 1) return mo_error(c, n, ME_ERR_FORMAT, "input X must have rank >= 1");
    int64_t out_dims[ME_MAX_RANK];
    double scales_d[ME_MAX_RANK];
    float scales[ME_MAX_RANK];
    /* roi is read again later; reading it first reports every input to freeze at once */
    me_status roi_st = ME_OK;
    if (cfg.tf_crop && mo_in(c, n, 1) >= 0) {
        float *rv;
        int64_t cnt;
        roi_st = mo_const_floats(c, n, 1, &rv, &cnt);
    }
    me_status shape_st = resize_shape(c, n, xt, scales_in, sizes_in, attr_scales, n_attr_scales, out_dims, scales_d);
    TRY_ST(roi_st);
    TRY_ST(shape_st);
    for (int i = 0; i < rank; i++) scales[i] = (float)scales_d[i];

    /* antialias only changes linear/cubic downscaling */
    bool antialias = false;
    if (mo_attr_int(n, "antialias", 0) != 0 && cfg.interp != RS_NEAREST)
        for (int i = 0; i < rank; i++) antialias |= scales_d[i] < 1.0;
    if (antialias || cfg.tf_crop || cfg.tf_half_pixel)
        return resize_by_matmul(c, n, x, &cfg, antialias, out_dims, scales_d);

    /* Channel-last when batch and channel axes are not resized (QNN's layout). */
    bool nhwc = rank >= 3 && out_dims[0] == xt->dims[0] && out_dims[1] == xt->dims[1];
    int in = x;
    int64_t dims_ir[ME_MAX_RANK];
    float scales_ir[ME_MAX_RANK];
    if (nhwc) {
        in = mo_to_nhwc(c, n, x);
        TRY_T(in);
        dims_ir[0] = out_dims[0];
        scales_ir[0] = scales[0];
        for (int i = 2; i < rank; i++) {
            dims_ir[i - 1] = out_dims[i];
            scales_ir[i - 1] = scales[i];
        }
        dims_ir[rank - 1] = out_dims[1];
        scales_ir[rank - 1] = scales[1];
    } else {
        memcpy(dims_ir, out_dims, sizeof(int64_t) * (size_t)rank);
        memcpy(scales_ir, scales, sizeof(float) * (size_t)rank);
    }
    int node = mo_node(c, n, ME_OP_RESIZE, &in, 1, 1, "resize");
    if (node < 0) return mo_build_failed(c, n);
    me_graph *g = mo_graph(c);
    me_tensor *ot = &g->tensors[g->nodes[node].out[0]];
    ot->rank = rank;
    memcpy(ot->dims, dims_ir, sizeof(int64_t) * (size_t)rank);
    if (me_node_set_scalar_bool(g, node, "exclude_outside", cfg.exclude_outside) != ME_OK ||
        me_node_set_scalar_u32(g, node, "transformation_mode", (uint32_t)cfg.transform) != ME_OK ||
        me_node_set_scalar_u32(g, node, "interpolation_mode", (uint32_t)cfg.interp) != ME_OK ||
        me_node_set_scalar_u32(g, node, "nearest_mode", (uint32_t)cfg.nearest) != ME_OK ||
        me_node_set_scalar_f32(g, node, "cubic_coeff", cfg.cubic_coeff) != ME_OK ||
        me_node_set_tensor_f32(g, node, "scales", rank, scales_ir) != ME_OK)
        return mo_build_failed(c, n);
    if (cfg.half_pixel_symmetric && me_node_set_scalar_bool(g, node, "half_pixel_symmetric", true) != ME_OK)
        return mo_build_failed(c, n);
    int y;
    TRY_ST(mo_finish(c, node, &y));
    if (nhwc) {
        y = mo_to_nchw(c, n, y);
        TRY_T(y);
    }
    return mo_bind(c, n, 0, y);
}

/* ------------------------------------------------------ depth <-> space */

me_status mo_tr_depth_space(mo_ctx *c, const onnx_node *n) {
    bool to_space = strcmp(n->op_type, "DepthToSpace") == 0;
    int x = mo_in(c, n, 0);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input is missing");
    if (mo_t(c, x)->rank != 4) return mo_error(c, n, ME_ERR_UNSUPPORTED, "input rank %d: only 4-D is supported", mo_t(c, x)->rank);
    int64_t b = mo_attr_int(n, "blocksize", 0);
    if (b <= 0 || b > 0xffff) return mo_error(c, n, ME_ERR_FORMAT, "attribute blocksize=%lld is invalid", (long long)b);
    uint32_t mode = 0; /* DCR; SpaceToDepth's channel order is DCR too */
    if (to_space) {
        const char *m = mo_attr_str(n, "mode", "DCR");
        if (strcmp(m, "CRD") == 0) mode = 1;
        else if (strcmp(m, "DCR") != 0) return mo_error(c, n, ME_ERR_UNSUPPORTED, "attribute mode='%s' is not supported", m);
    }
    int xn = mo_to_nhwc(c, n, x);
    TRY_T(xn);
    int node = mo_node(c, n, to_space ? ME_OP_DEPTH_TO_SPACE : ME_OP_SPACE_TO_DEPTH, &xn, 1, 1,
                       to_space ? "depth_to_space" : "space_to_depth");
    if (node < 0) return mo_build_failed(c, n);
    int64_t bs[2] = {b, b}, bdims[1] = {2};
    if (me_node_set_tensor_int(mo_graph(c), node, "block_size", ME_DT_U32, 1, bdims, bs) != ME_OK ||
        me_node_set_scalar_u32(mo_graph(c), node, "mode", mode) != ME_OK)
        return mo_build_failed(c, n);
    int y;
    TRY_ST(mo_finish(c, node, &y));
    y = mo_to_nchw(c, n, y);
    TRY_T(y);
    return mo_bind(c, n, 0, y);
}

/* ----------------------------------------------------------------- TopK */

me_status mo_tr_topk(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input X is missing");
    int rank = mo_t(c, x)->rank;
    if (rank < 1) return mo_error(c, n, ME_ERR_FORMAT, "input X must have rank >= 1");
    int axis = norm_axis(mo_attr_int(n, "axis", -1), rank);
    if (axis < 0) return mo_error(c, n, ME_ERR_FORMAT, "axis %lld is out of range", (long long)mo_attr_int(n, "axis", -1));
    int64_t k;
    if (mo_opset(c) >= 10) {
        int64_t *kv, cnt;
        if (mo_in(c, n, 1) < 0) return mo_error(c, n, ME_ERR_FORMAT, "input K is missing");
        TRY_ST(mo_const_ints(c, n, 1, &kv, &cnt));
        if (cnt != 1) return mo_error(c, n, ME_ERR_FORMAT, "input K must hold one value (has %lld)", (long long)cnt);
        k = kv[0];
    } else {
        k = mo_attr_int(n, "k", -1);
    }
    int64_t dim = mo_t(c, x)->dims[axis];
    if (k < 1 || k > dim)
        return mo_error(c, n, ME_ERR_FORMAT, "K=%lld must be in [1, %lld] (the axis length)", (long long)k, (long long)dim);
    int64_t largest = mo_attr_int(n, "largest", 1);

    /* The IR op works on the last axis: swap axis and last around it. */
    int perm[ME_MAX_RANK];
    for (int i = 0; i < rank; i++) perm[i] = i;
    perm[axis] = rank - 1;
    perm[rank - 1] = axis;
    int in = x;
    if (axis != rank - 1) {
        in = mo_transpose(c, n, x, perm, "to_last");
        TRY_T(in);
    }
    int node = mo_node(c, n, ME_OP_TOPK, &in, 1, 2, "topk");
    if (node < 0) return mo_build_failed(c, n);
    if (me_node_set_scalar_u32(mo_graph(c), node, "k", (uint32_t)k) != ME_OK ||
        me_node_set_scalar_bool(mo_graph(c), node, "largest", largest != 0) != ME_OK)
        return mo_build_failed(c, n);
    int outs[2];
    TRY_ST(mo_finish(c, node, outs));
    int values = outs[0], indices = outs[1];
    if (axis != rank - 1) {
        values = mo_transpose(c, n, values, perm, "values");
        TRY_T(values);
        indices = mo_transpose(c, n, indices, perm, "indices");
        TRY_T(indices);
    }
    if (mo_t(c, indices)->dtype != ME_DT_I64) {
        indices = mo_cast(c, n, indices, ME_DT_I64, "indices_i64");
        TRY_T(indices);
    }
    TRY_ST(mo_bind(c, n, 0, values));
    return mo_bind(c, n, 1, indices);
}

/* --------------------------------------------------------------- CumSum */

me_status mo_tr_cumsum(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0);
    if (x < 0 || mo_in(c, n, 1) < 0) return mo_error(c, n, ME_ERR_FORMAT, "inputs x and axis are required");
    int rank = mo_t(c, x)->rank;
    int64_t *av, cnt;
    TRY_ST(mo_const_ints(c, n, 1, &av, &cnt));
    if (cnt != 1) return mo_error(c, n, ME_ERR_FORMAT, "input axis must hold one value (has %lld)", (long long)cnt);
    int axis = norm_axis(av[0], rank);
    if (axis < 0) return mo_error(c, n, ME_ERR_FORMAT, "axis %lld is out of range for rank %d", (long long)av[0], rank);
    int node = mo_node(c, n, ME_OP_CUMSUM, &x, 1, 1, "cumsum");
    if (node < 0) return mo_build_failed(c, n);
    me_graph *g = mo_graph(c);
    if (me_node_set_scalar_u32(g, node, "axis", (uint32_t)axis) != ME_OK ||
        me_node_set_scalar_bool(g, node, "exclusive", mo_attr_int(n, "exclusive", 0) != 0) != ME_OK ||
        me_node_set_scalar_bool(g, node, "reverse", mo_attr_int(n, "reverse", 0) != 0) != ME_OK)
        return mo_build_failed(c, n);
    int y;
    TRY_ST(mo_finish(c, node, &y));
    return mo_bind(c, n, 0, y);
}

/* ---------------------------------------------------------------- Trilu */

me_status mo_tr_trilu(mo_ctx *c, const onnx_node *n) {
    int x = mo_in(c, n, 0);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input is missing");
    const me_tensor *xt = mo_t(c, x);
    if (xt->rank < 2) return mo_error(c, n, ME_ERR_FORMAT, "input rank %d: at least 2 expected", xt->rank);
    int64_t k = 0;
    if (mo_in(c, n, 1) >= 0) {
        int64_t *kv, cnt;
        TRY_ST(mo_const_ints(c, n, 1, &kv, &cnt));
        if (cnt != 1) return mo_error(c, n, ME_ERR_FORMAT, "input k must hold one value (has %lld)", (long long)cnt);
        k = kv[0];
    }
    bool upper = mo_attr_int(n, "upper", 1) != 0;
    xt = mo_t(c, x);
    me_dtype dt = xt->dtype;
    int64_t rows = xt->dims[xt->rank - 2], cols = xt->dims[xt->rank - 1];
    int64_t numel;
    if (!me_mul_i64(rows, cols, &numel) || numel > ME_MAX_TENSOR_BYTES)
        return mo_error(c, n, ME_ERR_FORMAT, "input is too large");
    /* Shapes are static: the kept triangle is a constant mask. */
    uint8_t *mask = mo_build_alloc(c, (size_t)numel, 1);
    if (mask == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) mask[i * cols + j] = upper ? (j - i >= k) : (j - i <= k);
    int64_t mdims[2] = {rows, cols};
    int m = mo_const(c, "trilu_mask", ME_DT_BOOL, 2, mdims, mask);
    TRY_T(m);
    int zero = mo_build_scalar(c, dt, 0);
    TRY_T(zero);
    int y = mo_build_select(c, n, m, x, zero, "trilu");
    TRY_T(y);
    return mo_bind(c, n, 0, y);
}

/* ------------------------------------------------- Quantize/Dequantize */

static bool qdtype_bits(me_dtype dt, int *bits, bool *is_signed) {
    switch (dt) {
    case ME_DT_U8: *bits = 8, *is_signed = false; return true;
    case ME_DT_I8: *bits = 8, *is_signed = true; return true;
    case ME_DT_U16: *bits = 16, *is_signed = false; return true;
    case ME_DT_I16: *bits = 16, *is_signed = true; return true;
    case ME_DT_I32: *bits = 32, *is_signed = true; return true;
    case ME_DT_U4: *bits = 4, *is_signed = false; return true;
    case ME_DT_I4: *bits = 4, *is_signed = true; return true;
    default: return false;
    }
}

static bool qenc_equal(const me_qenc *a, const me_qenc *b) {
    if (a->kind != b->kind || a->bitwidth != b->bitwidth || a->is_signed != b->is_signed || a->n != b->n)
        return false;
    if (a->kind == ME_QENC_AXIS_SCALE_OFFSET && a->axis != b->axis) return false;
    for (int64_t i = 0; i < a->n; i++)
        if (a->scales[i] != b->scales[i] || a->offsets[i] != b->offsets[i]) return false;
    return true;
}

/* What one QuantizeLinear/DequantizeLinear node asks for. */
typedef struct qdq_spec {
    me_dtype qdt;            /* quantised dtype */
    int axis;                /* per-axis / blocked axis, or -1 for per tensor */
    int64_t block;           /* block_size (0 = none) */
    int64_t n;               /* scale count */
    float *scales;
    int64_t *zps;            /* NULL = all zero */
    int scale_t, zp_t;       /* IR tensors of the inputs */
} qdq_spec;

static me_status qdq_read(mo_ctx *c, const onnx_node *n, bool quantize, const me_tensor *xt, qdq_spec *q) {
    q->scale_t = mo_in(c, n, 1);
    q->zp_t = mo_in(c, n, 2);
    if (q->scale_t < 0) return mo_error(c, n, ME_ERR_FORMAT, "input scale is missing");
    if (quantize) {
        int64_t out_attr = mo_attr_int(n, "output_dtype", 0);
        if (q->zp_t >= 0) q->qdt = mo_t(c, q->zp_t)->dtype;
        else if (out_attr != 0) q->qdt = onnx_to_me_dtype((int)out_attr);
        else q->qdt = ME_DT_U8;
        if (q->zp_t >= 0 && out_attr != 0 && onnx_to_me_dtype((int)out_attr) != q->qdt)
            return mo_error(c, n, ME_ERR_FORMAT, "output_dtype %s differs from the zero point's dtype",
                            onnx_dtype_name((int)out_attr));
    } else {
        q->qdt = xt->dtype;
        if (q->zp_t >= 0 && mo_t(c, q->zp_t)->dtype != q->qdt)
            return mo_error(c, n, ME_ERR_FORMAT, "zero point dtype %s differs from the input dtype %s",
                            me_dtype_name(mo_t(c, q->zp_t)->dtype), me_dtype_name(q->qdt));
    }
    int bits;
    bool sgn;
    if (!qdtype_bits(q->qdt, &bits, &sgn) || (quantize && q->qdt == ME_DT_I32))
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "quantised dtype %s is not supported", me_dtype_name(q->qdt));
    int64_t sat = mo_attr_int(n, "saturate", 1);
    (void)sat; /* only affects float8 outputs, which are refused above */

    /* read both before failing, so every input to freeze is reported at once */
    me_status s_st = mo_const_floats(c, n, 1, &q->scales, &q->n);
    me_status z_st = ME_OK;
    int64_t nz = 0;
    q->zps = NULL;
    if (q->zp_t >= 0) z_st = mo_const_ints(c, n, 2, &q->zps, &nz);
    TRY_ST(s_st);
    TRY_ST(z_st);
    if (q->zps && nz != q->n)
        return mo_error(c, n, ME_ERR_FORMAT, "zero point has %lld values, scale %lld", (long long)nz, (long long)q->n);
    for (int64_t i = 0; i < q->n; i++)
        if (!(q->scales[i] > 0.0f) || !isfinite(q->scales[i]))
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "scale[%lld]=%g: only positive finite scales are supported",
                            (long long)i, q->scales[i]);
    const me_tensor *st = mo_t(c, q->scale_t);
    q->block = mo_attr_int(n, "block_size", 0);
    q->axis = -1;
    if (q->block < 0) return mo_error(c, n, ME_ERR_FORMAT, "attribute block_size=%lld is negative", (long long)q->block);
    if (q->block == 0 && q->n == 1 && st->rank <= 1) return ME_OK; /* per tensor */
    int64_t axis_attr = mo_attr_int(n, "axis", 1);
    q->axis = norm_axis(axis_attr, xt->rank);
    if (q->axis < 0) return mo_error(c, n, ME_ERR_FORMAT, "axis %lld is out of range for rank %d", (long long)axis_attr, xt->rank);
    if (q->block == 0) {
        if (st->rank != 1 || q->n != xt->dims[q->axis])
            return mo_error(c, n, ME_ERR_FORMAT, "per-axis scale must be 1-D with %lld values (axis %d)",
                            (long long)xt->dims[q->axis], q->axis);
        return ME_OK;
    }
    /* blocked: scale has x's shape except ceil(dim / block) along axis */
    if (st->rank != xt->rank) return mo_error(c, n, ME_ERR_FORMAT, "blocked scale must have the input's rank");
    for (int i = 0; i < xt->rank; i++) {
        int64_t want = i == q->axis ? (xt->dims[i] + q->block - 1) / q->block : xt->dims[i];
        if (st->dims[i] != want)
            return mo_error(c, n, ME_ERR_FORMAT, "blocked scale dim %d is %lld, expected %lld", i,
                            (long long)st->dims[i], (long long)want);
    }
    return ME_OK;
}

static me_qenc *qdq_encoding(mo_ctx *c, const qdq_spec *q) {
    me_qenc *e = mo_build_alloc(c, 1, sizeof(me_qenc));
    float *s = mo_build_alloc(c, (size_t)q->n, sizeof(float));
    int32_t *o = mo_build_alloc(c, (size_t)q->n, sizeof(int32_t));
    if (e == NULL || s == NULL || o == NULL) return NULL;
    int bits = 0;
    bool sgn = false;
    qdtype_bits(q->qdt, &bits, &sgn);
    e->kind = q->axis < 0 ? ME_QENC_SCALE_OFFSET : ME_QENC_AXIS_SCALE_OFFSET;
    e->bitwidth = bits;
    e->is_signed = sgn;
    e->axis = q->axis < 0 ? 0 : q->axis;
    e->n = q->n;
    for (int64_t i = 0; i < q->n; i++) {
        s[i] = q->scales[i];
        o[i] = q->zps ? (int32_t)-q->zps[i] : 0; /* QNN offset = -zero_point */
    }
    e->scales = s;
    e->offsets = o;
    return e;
}

/* Scale and zero point expanded to x's full shape (blocked quantisation). */
static me_status blocked_full(mo_ctx *c, const onnx_node *n, const me_tensor *xt, const qdq_spec *q,
                              int *scale_full, int *zp_full) {
    int64_t numel = me_shape_numel(xt->rank, xt->dims);
    if (numel < 0 || numel > ME_MAX_TENSOR_BYTES / 8) return mo_error(c, n, ME_ERR_FORMAT, "input is too large");
    float *s = mo_build_alloc(c, (size_t)numel, sizeof(float));
    float *z = mo_build_alloc(c, (size_t)numel, sizeof(float));
    if (s == NULL || z == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    const me_tensor *st = mo_t(c, q->scale_t);
    for (int64_t i = 0; i < numel; i++) {
        int64_t rem = i, src = 0, stride = 1;
        for (int d = xt->rank - 1; d >= 0; d--) {
            int64_t idx = rem % xt->dims[d];
            rem /= xt->dims[d];
            if (d == q->axis) idx /= q->block;
            src += idx * stride;
            stride *= st->dims[d];
        }
        s[i] = q->scales[src];
        z[i] = q->zps ? (float)q->zps[src] : 0.0f;
    }
    int rank = xt->rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, xt->dims, sizeof dims); /* xt moves when tensors are added */
    *scale_full = mo_const(c, "block_scale", ME_DT_F32, rank, dims, s);
    *zp_full = mo_const(c, "block_zero_point", ME_DT_F32, rank, dims, z);
    if (*scale_full < 0 || *zp_full < 0) return mo_build_failed(c, n);
    return ME_OK;
}

static void qdtype_range(me_dtype dt, double *lo, double *hi) {
    int bits = 0;
    bool sgn = false;
    qdtype_bits(dt, &bits, &sgn);
    if (sgn) *lo = -ldexp(1.0, bits - 1), *hi = ldexp(1.0, bits - 1) - 1;
    else *lo = 0, *hi = ldexp(1.0, bits) - 1;
}

/* Blocked QuantizeLinear / DequantizeLinear: QNN has no per-block float
 * encoding for activations, so the formula is spelled out with
 * element-wise ops on constants expanded to the input shape. */
static me_status tr_qdq_blocked(mo_ctx *c, const onnx_node *n, bool quantize, int x, const qdq_spec *q) {
    me_dtype xdt = mo_t(c, x)->dtype;
    int sf = -1, zf = -1;
    TRY_ST(blocked_full(c, n, mo_t(c, x), q, &sf, &zf));
    int y;
    if (quantize) {
        if (q->qdt == ME_DT_I4 || q->qdt == ME_DT_U4)
            return mo_error(c, n, ME_ERR_UNSUPPORTED, "blocked quantisation to %s is not supported", me_dtype_name(q->qdt));
        int xf = x;
        if (xdt != ME_DT_F32) TRY_T(xf = mo_cast(c, n, x, ME_DT_F32, "x_f32"));
        TRY_T(y = mo_binary(c, n, ME_OP_DIVIDE, xf, sf, "div_scale"));
        TRY_T(y = mo_unary(c, n, ME_OP_ROUND, y, "round"));
        TRY_T(y = mo_binary(c, n, ME_OP_ADD, y, zf, "add_zero_point"));
        double lo, hi;
        qdtype_range(q->qdt, &lo, &hi);
        TRY_T(y = mo_build_clamp(c, n, y, (float)lo, (float)hi, "saturate"));
        TRY_T(y = mo_cast(c, n, y, q->qdt, "quantized"));
    } else {
        TRY_T(y = mo_cast(c, n, x, ME_DT_F32, "x_f32"));
        if (q->zps) TRY_T(y = mo_binary(c, n, ME_OP_SUBTRACT, y, zf, "sub_zero_point"));
        TRY_T(y = mo_binary(c, n, ME_OP_MULTIPLY, y, sf, "mul_scale"));
    }
    return mo_bind(c, n, 0, y);
}

/* A copy of t (a Cast to its own dtype) that can carry its own encoding. */
static int encoding_view(mo_ctx *c, const onnx_node *n, int t, const char *suffix) {
    const me_tensor *tt = mo_t(c, t);
    me_dtype dt = tt->dtype;
    int rank = tt->rank;
    int64_t dims[ME_MAX_RANK];
    memcpy(dims, tt->dims, sizeof dims);
    int node = mo_node(c, n, ME_OP_CAST, &t, 1, 1, suffix);
    if (node < 0) return -1;
    me_graph *g = mo_graph(c);
    me_tensor *o = &g->tensors[g->nodes[node].out[0]];
    o->dtype = dt;
    o->rank = rank;
    memcpy(o->dims, dims, sizeof dims);
    int out;
    if (mo_finish(c, node, &out) != ME_OK) return -1;
    return out;
}

/* Float output dtype of DequantizeLinear: output_dtype, else the scale's. */
static me_dtype dq_out_dtype(mo_ctx *c, const onnx_node *n, int scale_t) {
    int64_t od = mo_attr_int(n, "output_dtype", 0);
    if (od != 0) return onnx_to_me_dtype((int)od);
    me_dtype sd = mo_t(c, scale_t)->dtype;
    return me_dtype_is_float(sd) ? sd : ME_DT_F32;
}

me_status mo_tr_qdq(mo_ctx *c, const onnx_node *n) {
    bool quantize = strcmp(n->op_type, "QuantizeLinear") == 0;
    int x = mo_in(c, n, 0);
    if (x < 0) return mo_error(c, n, ME_ERR_FORMAT, "input x is missing");
    qdq_spec q;
    TRY_ST(qdq_read(c, n, quantize, mo_t(c, x), &q));
    if (q.block > 0) return tr_qdq_blocked(c, n, quantize, x, &q);
    me_qenc *enc = qdq_encoding(c, &q);
    if (enc == NULL) return mo_error(c, n, ME_ERR_NOMEM, "out of memory");
    me_graph *g;

    if (quantize) {
        int xf = x;
        if (mo_t(c, x)->dtype != ME_DT_F32) TRY_T(xf = mo_cast(c, n, x, ME_DT_F32, "x_f32"));
        int node = mo_node(c, n, ME_OP_QUANTIZE, &xf, 1, 1, "quantize");
        if (node < 0) return mo_build_failed(c, n);
        g = mo_graph(c);
        me_tensor *ot = &g->tensors[g->nodes[node].out[0]];
        ot->dtype = q.qdt;
        ot->qenc = enc;
        int y;
        TRY_ST(mo_finish(c, node, &y));
        g = mo_graph(c);
        if (g->tensors[y].qenc == NULL) g->tensors[y].qenc = enc;
        return mo_bind(c, n, 0, y);
    }

    /* Dequantize reads the encoding from its input tensor. */
    g = mo_graph(c);
    const me_tensor *xt = &g->tensors[x];
    int xq = x;
    if (xt->qenc != NULL) {
        if (!qenc_equal(xt->qenc, enc)) {
            TRY_T(xq = encoding_view(c, n, x, "requant_view"));
            mo_graph(c)->tensors[xq].qenc = enc;
        }
    } else if (xt->flags & (ME_TF_STATIC | ME_TF_INPUT)) {
        g->tensors[x].qenc = enc;
    } else {
        TRY_T(xq = encoding_view(c, n, x, "quant_view"));
        mo_graph(c)->tensors[xq].qenc = enc;
    }
    int y = mo_emit1(c, n, ME_OP_DEQUANTIZE, &xq, 1, "dequantize");
    TRY_T(y);
    me_dtype od = dq_out_dtype(c, n, q.scale_t);
    if (od == ME_DT_UNDEFINED || !me_dtype_is_float(od))
        return mo_error(c, n, ME_ERR_UNSUPPORTED, "output dtype %s is not supported", me_dtype_name(od));
    if (mo_t(c, y)->dtype != od) TRY_T(y = mo_cast(c, n, y, od, "out_cast"));
    return mo_bind(c, n, 0, y);
}

/* ------------------------------------------------------------------- If */

me_status mo_tr_if(mo_ctx *c, const onnx_node *n) {
    int cond = mo_in(c, n, 0);
    if (cond < 0) return mo_error(c, n, ME_ERR_FORMAT, "input cond is missing");
    const onnx_attr *then_a = mo_attr(n, "then_branch"), *else_a = mo_attr(n, "else_branch");
    if (then_a == NULL || else_a == NULL || then_a->g == NULL || else_a->g == NULL)
        return mo_error(c, n, ME_ERR_FORMAT, "then_branch and else_branch graphs are required");
    if (!mo_is_const(c, cond) && !(mo_t(c, cond)->flags & ME_TF_INPUT))
        return mo_error(c, n, ME_ERR_UNSUPPORTED,
                        "If '%s': condition is not constant; data-dependent control flow is not supported", n->name);
    /* A graph input is recorded by mo_const_ints for "must be fixed at compile time". */
    int64_t *v, cnt;
    TRY_ST(mo_const_ints(c, n, 0, &v, &cnt));
    if (cnt != 1) return mo_error(c, n, ME_ERR_FORMAT, "condition must hold one value (has %lld)", (long long)cnt);
    return mo_inline_subgraph(c, n, v[0] ? then_a->g : else_a->g);
}
