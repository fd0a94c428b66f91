/* Resize (any rank), with ONNX Resize's semantics.
 *
 * The output shape is not computed from params: the node's creator sets the
 * output tensor's rank and dims (as QNN does); infer only validates them and
 * sets the dtype.
 * Params (QNN): exclude_outside BOOL (0); transformation_mode U32
 * (HALF_PIXEL=0, PYTORCH_HALF_PIXEL=1, ALIGN_CORNERS=2, ASYMMETRIC=3);
 * interpolation_mode U32 (NEAREST=0, LINEAR=1, CUBIC=2); nearest_mode U32
 * (ROUND_PREFER_FLOOR=0, ROUND_PREFER_CEIL=1, FLOOR=2, CEIL=3); cubic_coeff F32 (-0.75).
 * Our extensions: `scales` F32[rank] -- ONNX's per-axis scale used in the
 * coordinate transform when it is not out/in (scales given, sizes derived);
 * `half_pixel_symmetric` BOOL (ONNX opset-19 mode; needs HALF_PIXEL).
 *
 * Per axis, output coordinate x maps to x_orig (scale s, output width
 * W = s * in, as ONNX's reference computes it):
 *   half_pixel          (x + 0.5) / s - 0.5   (+ in/2 * (1 - out/W) when symmetric)
 *   pytorch_half_pixel  W == 1 ? -0.5 : (x + 0.5) / s - 0.5
 *   align_corners       W == 1 ? 0 : x * (in - 1) / (W - 1)
 *   asymmetric          x / s
 * With i0 = ceil(x_orig) - 1 and r = x_orig - i0 in (0, 1]:
 *   nearest: x_orig itself when integral, else floor or floor+1 by nearest_mode;
 *   linear:  taps i0, i0+1 with weights 1-r, r;
 *   cubic:   taps i0-1 .. i0+2 with Keys' weights for coefficient A; with
 *            exclude_outside the weights of taps outside [0, in) are zeroed
 *            and the rest renormalised.
 * Tap indices are clamped to [0, in) (edge replication). Multi-axis
 * interpolation is the separable product of the per-axis taps. ONNX's
 * antialias is not supported (the frontend refuses it). */
#include <math.h>

#include "../core/util.h"
#include "ops.h"
#include "param_read.h"

enum { RS_HALF_PIXEL = 0, RS_PYTORCH_HALF_PIXEL = 1, RS_ALIGN_CORNERS = 2, RS_ASYMMETRIC = 3 };
enum { RS_NEAREST = 0, RS_LINEAR = 1, RS_CUBIC = 2 };
enum { RS_ROUND_PREFER_FLOOR = 0, RS_ROUND_PREFER_CEIL = 1, RS_FLOOR = 2, RS_CEIL = 3 };
enum { RS_MAX_TAPS = 4 };

typedef struct resize_cfg {
    int rank;
    int64_t in_dims[ME_MAX_RANK], out_dims[ME_MAX_RANK];
    double scale[ME_MAX_RANK], out_width[ME_MAX_RANK];
    int64_t transform, interp, nearest, exclude_outside, symmetric;
    double cubic_a;
} resize_cfg;

/* One axis's taps, in the scratch buffer: for each output coordinate a tap
 * count and RS_MAX_TAPS (index, weight) slots. */
typedef struct axis_taps {
    int64_t *count;  /* [out] */
    int64_t *index;  /* [out * RS_MAX_TAPS] */
    double *weight;  /* [out * RS_MAX_TAPS] */
    bool identity;   /* out == in and every coordinate copies its own index */
} axis_taps;

static me_status resize_config(const me_node *nd, const me_tensor *x, const me_tensor *y, resize_cfg *c, me_diag *d) {
    if (!x || !y) return me_fail(d, ME_ERR_FORMAT, "node '%s' (Resize): input or output is missing", nd->name);
    if (x->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (Resize): only float32 input is supported", nd->name);
    if (y->rank != x->rank)
        return me_fail(d, ME_ERR_FORMAT,
                       "node '%s' (Resize): the output shape must be set by the node's creator with the input's rank %d "
                       "(has rank %d)", nd->name, x->rank, y->rank);
    c->rank = x->rank;
    for (int a = 0; a < x->rank; a++) {
        c->in_dims[a] = x->dims[a];
        c->out_dims[a] = y->dims[a];
        if (y->dims[a] < 0 || (x->dims[a] == 0) != (y->dims[a] == 0))
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (Resize): output dim %d (%lld) is invalid for input dim %lld",
                           nd->name, a, (long long)y->dims[a], (long long)x->dims[a]);
    }
    me_status st;
    if ((st = param_get_int(nd, "exclude_outside", false, 0, 0, 1, &c->exclude_outside, d)) ||
        (st = param_get_int(nd, "transformation_mode", false, RS_HALF_PIXEL, 0, 3, &c->transform, d)) ||
        (st = param_get_int(nd, "interpolation_mode", false, RS_NEAREST, 0, 2, &c->interp, d)) ||
        (st = param_get_int(nd, "nearest_mode", false, RS_ROUND_PREFER_FLOOR, 0, 3, &c->nearest, d)) ||
        (st = param_get_int(nd, "half_pixel_symmetric", false, 0, 0, 1, &c->symmetric, d)) ||
        (st = param_get_float(nd, "cubic_coeff", false, -0.75, &c->cubic_a, d)))
        return st;
    if (c->symmetric && c->transform != RS_HALF_PIXEL)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Resize): half_pixel_symmetric needs transformation_mode HALF_PIXEL",
                       nd->name);
    const me_param *sp = me_node_param(nd, "scales");
    if (sp && (sp->kind != ME_PARAM_TENSOR || sp->dtype != ME_DT_F32 || !sp->fvals || sp->count != x->rank))
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Resize): 'scales' must be an F32 tensor of %d values", nd->name,
                       x->rank);
    for (int a = 0; a < x->rank; a++) {
        if (sp) {
            double s = sp->fvals[a];
            if (!(s > 0.0) || !isfinite(s))
                return me_fail(d, ME_ERR_FORMAT, "node '%s' (Resize): scale %d (%g) must be positive", nd->name, a, s);
            c->scale[a] = s;
            c->out_width[a] = s * (double)c->in_dims[a];
        } else {
            c->scale[a] = c->in_dims[a] ? (double)c->out_dims[a] / (double)c->in_dims[a] : 1.0;
            c->out_width[a] = (double)c->out_dims[a];
        }
    }
    return ME_OK;
}

static double resize_source_coord(const resize_cfg *c, int a, int64_t xo) {
    double x = (double)xo, s = c->scale[a], w = c->out_width[a], in = (double)c->in_dims[a];
    switch (c->transform) {
    case RS_PYTORCH_HALF_PIXEL: return w == 1.0 ? -0.5 : (x + 0.5) / s - 0.5;
    case RS_ALIGN_CORNERS: return w == 1.0 ? 0.0 : x * (in - 1.0) / (w - 1.0);
    case RS_ASYMMETRIC: return x / s;
    default: {
        double v = (x + 0.5) / s - 0.5;
        if (c->symmetric) v += in / 2.0 * (1.0 - (double)c->out_dims[a] / w);
        return v;
    }
    }
}

static void cubic_weights(double r, double A, double *w) {
    double t0 = r + 1.0, t1 = r, t2 = 1.0 - r, t3 = 2.0 - r;
    w[0] = ((A * t0 - 5.0 * A) * t0 + 8.0 * A) * t0 - 4.0 * A;
    w[1] = ((A + 2.0) * t1 - (A + 3.0)) * t1 * t1 + 1.0;
    w[2] = ((A + 2.0) * t2 - (A + 3.0)) * t2 * t2 + 1.0;
    w[3] = ((A * t3 - 5.0 * A) * t3 + 8.0 * A) * t3 - 4.0 * A;
}

/* Fills one output coordinate's taps (indices clamped, zero weights dropped). */
static int64_t coord_taps(const resize_cfg *c, int a, int64_t xo, int64_t *idx, double *wt) {
    const int64_t in = c->in_dims[a];
    double xs = resize_source_coord(c, a, xo);
    /* far outside the input every tap clamps to the same edge; bounding xs
     * keeps the integer conversions below defined */
    if (xs < -8.0) xs = -8.0;
    if (xs > (double)in + 8.0) xs = (double)in + 8.0;
    double fl = floor(xs);
    int64_t i0 = (int64_t)ceil(xs) - 1; /* r = xs - i0 lies in (0, 1] */
    double r = xs - (double)i0;
    int64_t raw[RS_MAX_TAPS];
    double w[RS_MAX_TAPS];
    int n;
    if (c->interp == RS_NEAREST) {
        int64_t pick;
        if (xs == fl) pick = (int64_t)fl;
        else {
            double frac = xs - fl;
            bool up;
            switch (c->nearest) {
            case RS_ROUND_PREFER_CEIL: up = frac >= 0.5; break;
            case RS_FLOOR: up = false; break;
            case RS_CEIL: up = true; break;
            default: up = frac > 0.5; break;
            }
            pick = (int64_t)fl + (up ? 1 : 0);
        }
        raw[0] = pick; w[0] = 1.0; n = 1;
    } else if (c->interp == RS_LINEAR) {
        raw[0] = i0; raw[1] = i0 + 1;
        w[0] = 1.0 - r; w[1] = r;
        n = 2;
    } else {
        for (int t = 0; t < 4; t++) raw[t] = i0 - 1 + t;
        cubic_weights(r, c->cubic_a, w);
        n = 4;
        if (c->exclude_outside) {
            double sum = 0.0;
            for (int t = 0; t < 4; t++) {
                if (raw[t] < 0 || raw[t] >= in) w[t] = 0.0;
                sum += w[t];
            }
            if (sum != 0.0)
                for (int t = 0; t < 4; t++) w[t] /= sum;
        }
    }
    int64_t m = 0;
    for (int t = 0; t < n; t++) {
        if (w[t] == 0.0) continue;
        idx[m] = raw[t] < 0 ? 0 : (raw[t] >= in ? in - 1 : raw[t]);
        wt[m++] = w[t];
    }
    return m;
}

/* Scratch: per axis, out * (1 + 2 * RS_MAX_TAPS) 8-byte slots. */
static bool resize_scratch_size(const resize_cfg *c, size_t *bytes) {
    size_t total = 0;
    for (int a = 0; a < c->rank; a++) {
        size_t s;
        if (!me_mul_size((size_t)c->out_dims[a], (1 + 2 * RS_MAX_TAPS) * 8, &s) || !me_add_size(total, s, &total))
            return false;
    }
    *bytes = total;
    return true;
}

static void build_taps(const resize_cfg *c, int a, void *mem, axis_taps *t) {
    int64_t out = c->out_dims[a];
    t->count = mem;
    t->index = t->count + out;
    t->weight = (double *)(t->index + out * RS_MAX_TAPS);
    t->identity = out == c->in_dims[a];
    for (int64_t xo = 0; xo < out; xo++) {
        int64_t *idx = t->index + xo * RS_MAX_TAPS;
        double *wt = t->weight + xo * RS_MAX_TAPS;
        t->count[xo] = coord_taps(c, a, xo, idx, wt);
        if (t->count[xo] != 1 || idx[0] != xo || wt[0] != 1.0) t->identity = false;
    }
}

typedef struct resize_walk {
    const axis_taps *taps;
    const int64_t *out_idx;
    int64_t in_stride[ME_MAX_RANK]; /* in units of the inner block */
    int n_axes;                     /* axes walked (outside the inner block) */
    int64_t inner;
    const float *x;
    float *yrow;
} resize_walk;

/* Adds, over all tap combinations of axes a.., weight * input block to yrow. */
static void resize_accumulate(const resize_walk *w, int a, int64_t off, double weight) {
    if (a == w->n_axes) {
        const float *src = w->x + off * w->inner;
        float wf = (float)weight;
        for (int64_t i = 0; i < w->inner; i++) w->yrow[i] += wf * src[i];
        return;
    }
    const axis_taps *t = &w->taps[a];
    int64_t o = w->out_idx[a];
    const int64_t *idx = t->index + o * RS_MAX_TAPS;
    const double *wt = t->weight + o * RS_MAX_TAPS;
    for (int64_t k = 0; k < t->count[o]; k++)
        resize_accumulate(w, a + 1, off + idx[k] * w->in_stride[a], weight * wt[k]);
}

static me_status resize_infer(me_graph *gr, me_node *nd, me_diag *d) {
    me_status st = input_check_f32(gr, nd, 0, false, d);
    if (st) return st;
    if (nd->n_out < 1 || nd->out[0] < 0 || nd->out[0] >= gr->n_tensors)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (Resize): output is missing", nd->name);
    const me_tensor *y = &gr->tensors[nd->out[0]];
    resize_cfg c;
    if ((st = resize_config(nd, input_tensor(gr, nd, 0), y, &c, d))) return st;
    int64_t dims[ME_MAX_RANK];
    for (int a = 0; a < c.rank; a++) dims[a] = c.out_dims[a];
    return me_set_output(gr, nd, 0, ME_DT_F32, c.rank, dims, d);
}

static size_t resize_scratch(const me_graph *gr, const me_node *nd) {
    if (nd->n_out < 1 || nd->out[0] < 0 || nd->out[0] >= gr->n_tensors) return 0;
    resize_cfg c;
    size_t b;
    if (resize_config(nd, input_tensor(gr, nd, 0), &gr->tensors[nd->out[0]], &c, NULL) != ME_OK ||
        !resize_scratch_size(&c, &b))
        return 0;
    return b;
}

static me_status resize_run(const me_kernel_ctx *k, me_diag *d) {
    if (k->n_in < 1 || k->n_out < 1 || !k->in[0] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': Resize needs an input and an output", k->node->name);
    resize_cfg c;
    me_status st = resize_config(k->node, k->in[0], k->out[0], &c, d);
    if (st) return st;
    int64_t total = me_tensor_numel(k->out[0]);
    if (total == 0) return ME_OK;
    if (!k->in_data[0] || !k->out_data[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    size_t need;
    if (!resize_scratch_size(&c, &need) || (need && !k->scratch))
        return me_fail(d, ME_ERR_INTERNAL, "node '%s': Resize scratch is missing", k->node->name);

    axis_taps taps[ME_MAX_RANK];
    char *mem = k->scratch;
    for (int a = 0; a < c.rank; a++) {
        build_taps(&c, a, mem, &taps[a]);
        mem += (size_t)c.out_dims[a] * (1 + 2 * RS_MAX_TAPS) * 8;
    }
    /* trailing axes that are copied unchanged form one contiguous inner block */
    resize_walk w;
    w.n_axes = c.rank;
    w.inner = 1;
    while (w.n_axes > 0 && taps[w.n_axes - 1].identity) {
        w.n_axes--;
        w.inner *= c.in_dims[w.n_axes];
    }
    int64_t s = 1;
    for (int a = w.n_axes - 1; a >= 0; a--) { w.in_stride[a] = s; s *= c.in_dims[a]; }
    int64_t out_idx[ME_MAX_RANK] = {0};
    w.taps = taps;
    w.out_idx = out_idx;
    w.x = k->in_data[0];
    float *y = k->out_data[0];
    for (int64_t o = 0; o < total / w.inner; o++) {
        w.yrow = y + o * w.inner;
        for (int64_t i = 0; i < w.inner; i++) w.yrow[i] = 0.0f;
        resize_accumulate(&w, 0, 0, 1.0);
        for (int a = w.n_axes - 1; a >= 0; a--) {
            if (++out_idx[a] < c.out_dims[a]) break;
            out_idx[a] = 0;
        }
    }
    return ME_OK;
}

static const me_param_schema resize_params[] = {
    {"exclude_outside", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {"transformation_mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"interpolation_mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"nearest_mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"cubic_coeff", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"scales", ME_PARAM_TENSOR, ME_DT_F32, false},
    {"half_pixel_symmetric", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {NULL},
};

const me_opdef me_opdef_RESIZE = {
    "Resize", "qti.aisw", 1, 1, 1, 1, resize_params, resize_infer, resize_run, resize_scratch,
};
