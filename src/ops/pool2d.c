/* PoolMax2d and PoolAvg2d (NHWC).
 *
 * Params: filter_size U32[2], stride U32[2], pad_amount U32[2,2] (all required),
 * rounding_mode U32 (FLOOR=0, CEIL=1; default 0), PoolAvg2d also
 * count_pad_for_edges BOOL (0), and `dilation` U32[2] ([1,1]) -- our extension
 * for ONNX's pooling dilations (QNN's 2-D pools have none).
 *
 * Output length per axis, with dilated filter k' = (k-1)*dil + 1:
 *   FLOOR: floor((p0 + in + p1 - k') / stride) + 1
 *   CEIL:  ceil((p0 + in + p1 - k') / stride) + 1, minus one when the last
 *          window would start past the input and the leading pad (the
 *          ONNX / PyTorch rule: windows starting in the trailing pad are dropped).
 * Average divisor: count_pad_for_edges=1 counts the window taps inside the
 * padded extent [-p0, in + p1); =0 counts only taps on real input.
 * (tests/tools/k2_check_pool_semantics.py checks these rules against ONNX's
 * conformance outputs.)
 *
 * Kernel: NHWC windows accumulate whole channel rows with the add / max rows
 * of the node's eltwise_f32 variant (kernels/kernels.h), exact like the
 * reference rows, so results do not depend on the variant or the split. */
#include <float.h>

#include "../core/util.h"
#include "../kernels/kernels.h"
#include "../runtime/threadpool.h"
#include "ops.h"
#include "param_read.h"

typedef struct pool_geom {
    int64_t n, h, w, c;
    int64_t filter[2], stride[2], pad[4], dil[2];
    int64_t ceil_mode, count_pad;
    int64_t oh, ow;
} pool_geom;

static const int64_t one_one[2] = {1, 1};

static int64_t pool_out_len(int64_t in, int64_t p0, int64_t p1, int64_t f, int64_t dil, int64_t stride,
                            bool ceil_mode) {
    int64_t dk, span;
    if (!me_mul_i64(f - 1, dil, &dk) || !me_add_i64(dk, 1, &dk)) return -1;
    if (!me_add_i64(in, p0, &span) || !me_add_i64(span, p1, &span)) return -1;
    if (span < dk) return -1;
    int64_t num = span - dk;
    if (!ceil_mode) return num / stride + 1;
    int64_t out = num / stride + (num % stride != 0) + 1;
    if ((out - 1) * stride >= in + p0) out--;
    return out;
}

static me_status pool_geometry(const me_node *nd, const me_tensor *x, bool avg, pool_geom *g, me_diag *d) {
    const char *op = param_op_name(nd);
    if (!x) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input is missing", nd->name, op);
    if (x->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): only float32 input is supported", nd->name, op);
    if (x->rank != 4)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): input must be 4-D NHWC, has rank %d", nd->name, op, x->rank);
    g->n = x->dims[0]; g->h = x->dims[1]; g->w = x->dims[2]; g->c = x->dims[3];
    me_status st;
    if ((st = param_get_ints(nd, "filter_size", 2, false, NULL, 1, g->filter, d))) return st;
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, g->stride, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, g->pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, g->dil, d))) return st;
    if ((st = param_get_int(nd, "rounding_mode", false, 0, 0, 1, &g->ceil_mode, d))) return st;
    g->count_pad = 0;
    if (avg && (st = param_get_int(nd, "count_pad_for_edges", false, 0, 0, 1, &g->count_pad, d))) return st;
    g->oh = pool_out_len(g->h, g->pad[0], g->pad[1], g->filter[0], g->dil[0], g->stride[0], g->ceil_mode);
    g->ow = pool_out_len(g->w, g->pad[2], g->pad[3], g->filter[1], g->dil[1], g->stride[1], g->ceil_mode);
    if (g->oh < 1 || g->ow < 1)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): the %lldx%lld window is larger than the padded input %lldx%lld",
                       nd->name, op, (long long)g->filter[0], (long long)g->filter[1], (long long)g->h,
                       (long long)g->w);
    return ME_OK;
}

static me_status pool_infer_common(me_graph *gr, me_node *nd, bool avg, me_diag *d) {
    me_status st = input_check_f32(gr, nd, 0, false, d);
    if (st) return st;
    pool_geom g;
    if ((st = pool_geometry(nd, input_tensor(gr, nd, 0), avg, &g, d))) return st;
    int64_t dims[4] = {g.n, g.oh, g.ow, g.c};
    return me_set_output(gr, nd, 0, ME_DT_F32, 4, dims, d);
}

static me_status maxpool_infer(me_graph *gr, me_node *nd, me_diag *d) { return pool_infer_common(gr, nd, false, d); }
static me_status avgpool_infer(me_graph *gr, me_node *nd, me_diag *d) { return pool_infer_common(gr, nd, true, d); }

/* Window taps along one axis: first tap index, number of taps, and how many
 * of them lie on real input (`valid`, a contiguous run starting at tap
 * *t_lo) and inside the padded extent (`padded`). */
typedef struct pool_taps { int64_t t_lo, valid, padded; } pool_taps;

static pool_taps pool_axis_taps(int64_t o, int64_t in, int64_t p0, int64_t p1, int64_t f, int64_t dil,
                                int64_t stride) {
    pool_taps t = {0, 0, 0};
    int64_t start = o * stride - p0;
    int64_t t_first = -1;
    for (int64_t i = 0; i < f; i++) {
        int64_t pos = start + i * dil;
        if (pos >= -p0 && pos < in + p1) t.padded++;
        if (pos >= 0 && pos < in) {
            if (t_first < 0) t_first = i;
            t.valid++;
        }
    }
    t.t_lo = t_first < 0 ? 0 : t_first;
    return t;
}

static me_status pool_prepare(const me_kernel_ctx *k, bool avg, pool_geom *g, bool *empty, me_diag *d) {
    if (k->n_in < 1 || k->n_out < 1 || !k->in[0] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': pooling needs an input and an output", k->node->name);
    me_status st = pool_geometry(k->node, k->in[0], avg, g, d);
    if (st) return st;
    *empty = me_tensor_numel(k->out[0]) == 0;
    if (!*empty && (!k->in_data[0] || !k->out_data[0]))
        return me_fail(d, ME_ERR_FORMAT, "node '%s': missing tensor data", k->node->name);
    return ME_OK;
}

typedef struct pool_job {
    const pool_geom *g;
    const float *x;
    float *y;
    bool avg;
    const me_eltwise_f32_kernel *kern; /* its add / max rows accumulate a window over the channels */
} pool_job;

/* Output rows [b, e) over (n, oh), channels [c0, c1); each output element is
 * computed by one call, in the same way whatever the split. */
static void pool_block(const pool_job *j, int64_t b, int64_t e, int64_t c0, int64_t c1) {
    const pool_geom g = *j->g;
    const float *x = j->x + c0;
    float *y = j->y + c0;
    const bool avg = j->avg;
    const int64_t c = c1 - c0, cs = g.c;
    for (int64_t r = b; r < e; r++) {
        int64_t n = r / g.oh, oh = r % g.oh;
        pool_taps th = pool_axis_taps(oh, g.h, g.pad[0], g.pad[1], g.filter[0], g.dil[0], g.stride[0]);
        for (int64_t ow = 0; ow < g.ow; ow++) {
            pool_taps tw = pool_axis_taps(ow, g.w, g.pad[2], g.pad[3], g.filter[1], g.dil[1], g.stride[1]);
            float *yr = y + ((n * g.oh + oh) * g.ow + ow) * cs;
            /* an all-padding window yields the lowest float (max) or 0 (average) */
            float init = avg ? 0.0f : -FLT_MAX;
            for (int64_t ch = 0; ch < c; ch++) yr[ch] = init;
            for (int64_t i = 0; i < th.valid; i++) {
                int64_t ih = oh * g.stride[0] - g.pad[0] + (th.t_lo + i) * g.dil[0];
                for (int64_t jj = 0; jj < tw.valid; jj++) {
                    int64_t iw = ow * g.stride[1] - g.pad[2] + (tw.t_lo + jj) * g.dil[1];
                    const float *xr = x + ((n * g.h + ih) * g.w + iw) * cs;
                    if (avg) j->kern->add(yr, 1, xr, 1, yr, c);
                    else j->kern->max(xr, 1, yr, 1, yr, c);
                }
            }
            if (avg) {
                int64_t count = g.count_pad ? th.padded * tw.padded : th.valid * tw.valid;
                if (count > 0) {
                    float div = (float)count;
                    for (int64_t ch = 0; ch < c; ch++) yr[ch] /= div;
                }
            }
        }
    }
}

static void pool_rows(void *v, int64_t b, int64_t e) {
    const pool_job *j = v;
    pool_block(j, b, e, 0, j->g->c);
}

static void pool_chans(void *v, int64_t b, int64_t e) {
    const pool_job *j = v;
    pool_block(j, 0, j->g->n * j->g->oh, b, e);
}

static me_status pool_run(const me_kernel_ctx *k, bool avg, me_diag *d) {
    pool_geom g;
    bool empty;
    me_status st = pool_prepare(k, avg, &g, &empty, d);
    if (st || empty) return st;
    pool_job job = {&g, k->in_data[0], k->out_data[0], avg, k->variant ? k->variant : me_eltwise_f32_select()};
    int64_t rows = g.n * g.oh;
    /* threads only when there is enough work to pay for waking them */
    if ((double)rows * (double)g.ow * (double)g.c * (double)g.filter[0] * (double)g.filter[1] < 32768.0)
        pool_rows(&job, 0, rows);
    else if (rows < 2 * (int64_t)me_threadpool_threads(k->pool) && g.c >= 64)
        me_parallel_for(k->pool, g.c, 16, pool_chans, &job); /* few rows (a global pool): split the channels */
    else me_parallel_for(k->pool, rows, 1, pool_rows, &job);
    return ME_OK;
}

static me_status maxpool_run(const me_kernel_ctx *k, me_diag *d) { return pool_run(k, false, d); }
static me_status avgpool_run(const me_kernel_ctx *k, me_diag *d) { return pool_run(k, true, d); }

static const me_param_schema maxpool_params[] = {
    {"filter_size", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"stride", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"pad_amount", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"rounding_mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"dilation", ME_PARAM_TENSOR, ME_DT_U32, false},
    {NULL},
};

static const me_param_schema avgpool_params[] = {
    {"filter_size", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"stride", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"pad_amount", ME_PARAM_TENSOR, ME_DT_U32, true},
    {"rounding_mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {"count_pad_for_edges", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {"dilation", ME_PARAM_TENSOR, ME_DT_U32, false},
    {NULL},
};

const me_opdef me_opdef_POOL_MAX2D = {
    "PoolMax2d", "qti.aisw", 1, 1, 1, 1, maxpool_params, maxpool_infer, maxpool_run, NULL,
};

const me_opdef me_opdef_POOL_AVG2D = {
    "PoolAvg2d", "qti.aisw", 1, 1, 1, 1, avgpool_params, avgpool_infer, avgpool_run, NULL,
};
