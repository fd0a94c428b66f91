/* Integer Conv2d, DepthWiseConv2d, FullyConnected and MatMul
 * (docs/quantized-arithmetic.md §4).
 *
 * acc[c] = bias_q[c] + sum_k (qx + ox) * (qw + ow[c])     exact integer sum
 * y[c]   = clamp(requant(acc[c], sx * sw[c] / sy) - oy, lo, hi)
 * with bias_q[c] = round_half_away(bias_real[c] / (sx * sw[c])) (equal to the
 * bias code when the bias scale is sx * sw[c]) and [lo, hi] the output
 * dtype range narrowed by the fused activation. The sum is accumulated in
 * int32 when a bound proves it cannot overflow, else in int64: both give the
 * exact sum, so the result does not depend on the choice. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../ops/eltwise_util.h"
#include "../ops/param_read.h"
#include "../runtime/threadpool.h"
#include "qk_common.h"

typedef struct qlin {
    int64_t cout;
    int32_t ox;
    int32_t *wv;       /* weight codes + weight offset, in the weight tensor's element order */
    int64_t *bias;     /* [cout] in accumulator units */
    me_requant *rq;    /* [cout] */
    int64_t oy, lo, hi;
    me_dtype ydt;
    bool acc32;
    int64_t max_x, max_w; /* bounds of |qx + ox|, |qw + ow| */
} qlin;

/* dst[0..n) = code[off + i] + add, with the dtype switch outside the loop. */
static void load_run(const void *base, me_dtype dt, int64_t off, int64_t n, int32_t add, int32_t *dst) {
    switch (dt) {
    case ME_DT_U8: { const uint8_t *p = (const uint8_t *)base + off; for (int64_t i = 0; i < n; i++) dst[i] = p[i] + add; break; }
    case ME_DT_I8: { const int8_t *p = (const int8_t *)base + off; for (int64_t i = 0; i < n; i++) dst[i] = p[i] + add; break; }
    case ME_DT_U16: { const uint16_t *p = (const uint16_t *)base + off; for (int64_t i = 0; i < n; i++) dst[i] = p[i] + add; break; }
    case ME_DT_I16: { const int16_t *p = (const int16_t *)base + off; for (int64_t i = 0; i < n; i++) dst[i] = p[i] + add; break; }
    default: for (int64_t i = 0; i < n; i++) dst[i] = me_qload(base, dt, off + i) + add; break;
    }
}

static void qlin_free(qlin *q) {
    free(q->wv);
    free(q->bias);
    free(q->rq);
}

static int64_t max_abs_code(me_dtype dt, int64_t off) {
    int64_t lo = 0, hi = 0;
    me_qdtype_range(dt, &lo, &hi);
    int64_t a = llabs(lo + off), b = llabs(hi + off);
    return a > b ? a : b;
}

/* Scale of weight channel c (per tensor: the single scale). */
static double w_scale(const me_tensor *w, int64_t c) { return me_qenc_scale(w->qenc, c); }

/* Prepares weights (if w is static and quantised), bias and multipliers.
 * `waxis` is the weight's output-channel axis; k_len the reduction length. */
static me_status qlin_prepare(const me_kernel_ctx *k, const me_tensor *x, const me_tensor *w, const void *wdata,
                              int waxis, const me_tensor *b, const void *bdata, int64_t cout, int64_t k_len,
                              qlin *q, me_diag *d) {
    const me_node *n = k->node;
    const me_tensor *y = k->out[0];
    memset(q, 0, sizeof *q);
    if (!me_qk_is_qact(x) || !me_qk_is_qact(y))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "quantised kernel needs per-tensor quantised input and output");
    q->cout = cout;
    q->ox = me_qenc_offset(x->qenc, 0);
    q->oy = me_qenc_offset(y->qenc, 0);
    q->ydt = y->dtype;
    me_qk_act_bounds(n, y, &q->lo, &q->hi);
    double sx = me_qenc_scale(x->qenc, 0), sy = me_qenc_scale(y->qenc, 0);
    q->max_x = max_abs_code(x->dtype, q->ox);
    q->bias = calloc((size_t)cout, sizeof *q->bias);
    q->rq = calloc((size_t)cout, sizeof *q->rq);
    if (!q->bias || !q->rq) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    bool per_ch = w->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET;
    if (wdata) {
        int64_t cnt = me_tensor_numel(w), outer, len, inner;
        me_axis_split(w->rank, w->dims, waxis, &outer, &len, &inner);
        q->wv = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof *q->wv);
        if (!q->wv) return me_fail(d, ME_ERR_NOMEM, "out of memory");
        int64_t mw = 0;
        if (w->dtype == ME_DT_I8 && (!per_ch || inner == 1)) {
            /* the common case without a per-element division (same values) */
            const int8_t *wq = wdata;
            for (int64_t i = 0; i < cnt; i++) {
                int64_t v = (int64_t)wq[i] + me_qenc_offset(w->qenc, per_ch ? i % len : 0);
                q->wv[i] = (int32_t)v;
                if (llabs(v) > mw) mw = llabs(v);
            }
        } else {
            for (int64_t i = 0; i < cnt; i++) {
                int64_t ch = per_ch ? (i / inner) % len : 0;
                int64_t v = (int64_t)me_qload(wdata, w->dtype, i) + me_qenc_offset(w->qenc, ch);
                q->wv[i] = (int32_t)v;
                if (llabs(v) > mw) mw = llabs(v);
            }
        }
        q->max_w = mw;
    } else {
        q->max_w = max_abs_code(w->dtype, me_qenc_offset(w->qenc, 0));
    }
    int64_t max_bias = 0;
    me_status st;
    for (int64_t c = 0; c < cout; c++) {
        double acc_scale = sx * w_scale(w, per_ch ? c : 0);
        if ((st = me_qk_requant(n, acc_scale / sy, &q->rq[c], d))) return st;
        if (!b) continue;
        double breal;
        if (b->dtype == ME_DT_F32) {
            breal = ((const float *)bdata)[c];
        } else {
            int64_t lo, hi;
            if (!b->qenc || !me_qdtype_range(b->dtype, &lo, &hi) || b->dtype == ME_DT_I4 || b->dtype == ME_DT_U4)
                return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "bias '%s' must be float32 or quantised", b->name);
            int64_t bc = b->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET ? c : 0;
            breal = ((double)me_qload(bdata, b->dtype, c) + me_qenc_offset(b->qenc, bc)) * me_qenc_scale(b->qenc, bc);
        }
        double v = breal / acc_scale;
        if (!isfinite(v) || fabs(v) > 0x1p62)
            return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "bias %lld does not fit the accumulator", (long long)c);
        q->bias[c] = (int64_t)(v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5));
        if (llabs(q->bias[c]) > max_bias) max_bias = llabs(q->bias[c]);
    }
    /* int32 accumulation is exact iff every partial sum stays in range */
    double bound = (double)k_len * (double)q->max_x * (double)q->max_w + (double)max_bias;
    if (bound >= 0x1p62)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "accumulator bound %g exceeds int64 range", bound);
    q->acc32 = bound < 0x1p31;
    return ME_OK;
}

static inline void qlin_store_row(const qlin *q, const int64_t *acc, int64_t c0, int64_t n, void *y, int64_t yoff) {
    for (int64_t c = 0; c < n; c++) {
        int64_t v = me_requant_apply(&q->rq[c0 + c], acc[c]) - q->oy;
        me_qk_store(y, q->ydt, yoff + c, me_clamp_i64(v, q->lo, q->hi));
    }
}

/* acc[0..n) += xv * w[0..n) for a run of xv values against rows of w
 * (row stride ws): the kernel's inner product in both widths. */
static void axpy_rows32(int64_t kl, const int32_t *xv, const int32_t *w, int64_t ws, int64_t n, int32_t *acc) {
    for (int64_t kk = 0; kk < kl; kk++) {
        int32_t a = xv[kk];
        if (!a) continue;
        const int32_t *wr = w + kk * ws;
        for (int64_t c = 0; c < n; c++) acc[c] += a * wr[c];
    }
}
static void axpy_rows64(int64_t kl, const int32_t *xv, const int32_t *w, int64_t ws, int64_t n, int64_t *acc) {
    for (int64_t kk = 0; kk < kl; kk++) {
        int64_t a = xv[kk];
        if (!a) continue;
        const int32_t *wr = w + kk * ws;
        for (int64_t c = 0; c < n; c++) acc[c] += a * wr[c];
    }
}

/* One output vector: acc = bias + xv[0..kl) * W[kl, n] (row stride ws). */
static void dot_block(const qlin *q, int64_t kl, const int32_t *xv, const int32_t *w, int64_t ws, int64_t c0,
                      int64_t n, int32_t *a32, int64_t *a64) {
    if (q->acc32) {
        for (int64_t c = 0; c < n; c++) a32[c] = (int32_t)q->bias[c0 + c];
        axpy_rows32(kl, xv, w, ws, n, a32);
        for (int64_t c = 0; c < n; c++) a64[c] = a32[c];
    } else {
        for (int64_t c = 0; c < n; c++) a64[c] = q->bias[c0 + c];
        axpy_rows64(kl, xv, w, ws, n, a64);
    }
}

/* ---- Conv2d / DepthWiseConv2d ---- */
typedef struct qconv_geom {
    int64_t n, h, w, c, fh, fw, cin_g, cout, group, cout_g, stride[2], pad[4], dil[2], oh, ow;
} qconv_geom;

static me_status qconv_geometry(const me_kernel_ctx *k, bool dw, qconv_geom *g, me_diag *d) {
    const me_node *nd = k->node;
    const me_tensor *x = k->in[0], *w = k->n_in > 1 ? k->in[1] : NULL, *y = k->out[0];
    if (!x || !w || x->rank != 4 || w->rank != 4 || y->rank != 4)
        return me_op_fail(d, ME_ERR_FORMAT, nd, "needs a 4-D input, 4-D weights and a 4-D output");
    static const int64_t one_one[2] = {1, 1};
    me_status st;
    g->n = x->dims[0]; g->h = x->dims[1]; g->w = x->dims[2]; g->c = x->dims[3];
    g->fh = w->dims[0]; g->fw = w->dims[1]; g->cin_g = w->dims[2]; g->cout = w->dims[3];
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, g->stride, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, g->pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, g->dil, d))) return st;
    g->group = 1;
    if (dw) g->group = g->c;
    else if ((st = param_get_int(nd, "group", false, 1, 1, UINT32_MAX, &g->group, d))) return st;
    if (g->group < 1 || g->cout % g->group || g->cin_g * g->group != g->c || (dw && g->cin_g != 1))
        return me_op_fail(d, ME_ERR_FORMAT, nd, "weights do not match the input channels and group");
    g->cout_g = g->cout / g->group;
    g->oh = y->dims[1];
    g->ow = y->dims[2];
    if (y->dims[0] != g->n || y->dims[3] != g->cout)
        return me_op_fail(d, ME_ERR_FORMAT, nd, "output shape does not match the convolution");
    return ME_OK;
}

/* Work of one convolution call, split over output rows (n, oh) by the
 * thread pool; every output element is computed the same way whatever the
 * split, so the result does not depend on the thread count. */
typedef struct qconv_job {
    const qconv_geom *g;
    const qlin *q;
    bool dw;
    me_dtype xdt;
    const void *xd;
    void *yd;
    int failed; /* set atomically by any chunk that runs out of memory */
} qconv_job;

static void qconv_rows(void *arg, int64_t begin, int64_t end) {
    qconv_job *j = arg;
    const qconv_geom *gp = j->g;
    const qconv_geom g = *gp;
    const qlin *q = j->q;
    int64_t kg = g.fh * g.fw * g.cin_g;
    int32_t *patch = malloc((size_t)(j->dw ? g.fh * g.fw * g.c : kg) * sizeof *patch);
    int32_t *a32 = malloc((size_t)g.cout * sizeof *a32);
    int64_t *a64 = malloc((size_t)g.cout * sizeof *a64);
    if (!patch || !a32 || !a64) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        goto done;
    }
    for (int64_t row = begin; row < end; row++) {
        int64_t n = row / g.oh, oh = row % g.oh;
        for (int64_t ow = 0; ow < g.ow; ow++) {
            int64_t yoff = ((n * g.oh + oh) * g.ow + ow) * g.cout;
            if (j->dw) {
                /* patch[tap][c]; taps outside the input are real zero */
                for (int64_t kh = 0; kh < g.fh; kh++)
                    for (int64_t kw = 0; kw < g.fw; kw++) {
                        int32_t *dst = patch + (kh * g.fw + kw) * g.c;
                        int64_t ih = oh * g.stride[0] - g.pad[0] + kh * g.dil[0];
                        int64_t iw = ow * g.stride[1] - g.pad[2] + kw * g.dil[1];
                        if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) {
                            memset(dst, 0, (size_t)g.c * sizeof *dst);
                            continue;
                        }
                        load_run(j->xd, j->xdt, ((n * g.h + ih) * g.w + iw) * g.c, g.c, q->ox, dst);
                    }
                for (int64_t c = 0; c < g.c; c++) a64[c] = q->bias[c];
                for (int64_t t = 0; t < g.fh * g.fw; t++) {
                    const int32_t *pv = patch + t * g.c, *wv = q->wv + t * g.c;
                    for (int64_t c = 0; c < g.c; c++) a64[c] += (int64_t)pv[c] * wv[c];
                }
                qlin_store_row(q, a64, 0, g.c, j->yd, yoff);
                continue;
            }
            for (int64_t gi = 0; gi < g.group; gi++) {
                int32_t *dst = patch;
                for (int64_t kh = 0; kh < g.fh; kh++) {
                    int64_t ih = oh * g.stride[0] - g.pad[0] + kh * g.dil[0];
                    for (int64_t kw = 0; kw < g.fw; kw++, dst += g.cin_g) {
                        int64_t iw = ow * g.stride[1] - g.pad[2] + kw * g.dil[1];
                        if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) {
                            memset(dst, 0, (size_t)g.cin_g * sizeof *dst);
                            continue;
                        }
                        load_run(j->xd, j->xdt, ((n * g.h + ih) * g.w + iw) * g.c + gi * g.cin_g, g.cin_g, q->ox, dst);
                    }
                }
                int64_t c0 = gi * g.cout_g;
                dot_block(q, kg, patch, q->wv + c0, g.cout, c0, g.cout_g, a32, a64);
                qlin_store_row(q, a64, c0, g.cout_g, j->yd, yoff + c0);
            }
        }
    }
done:
    free(patch);
    free(a32);
    free(a64);
}

static me_status qconv_common(const me_kernel_ctx *k, bool dw, me_diag *d) {
    qconv_geom g;
    me_status st = qconv_geometry(k, dw, &g, d);
    if (st) return st;
    const me_tensor *x = k->in[0], *w = k->in[1], *b = k->n_in > 2 ? k->in[2] : NULL;
    if (!me_qk_is_qweight(w, 3))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, k->node, "weights '%s' are not static quantised weights", w->name);
    int64_t kg = g.fh * g.fw * g.cin_g;
    qlin q;
    st = qlin_prepare(k, x, w, k->in_data[1], 3, b, b ? k->in_data[2] : NULL, g.cout, dw ? g.fh * g.fw : kg, &q, d);
    if (st == ME_OK) {
        qconv_job job = {&g, &q, dw, x->dtype, k->in_data[0], k->out_data[0], 0};
        me_parallel_for(k->pool, g.n * g.oh, 1, qconv_rows, &job);
        if (job.failed) st = me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    qlin_free(&q);
    return st;
}

me_status me_qk_conv2d(const me_kernel_ctx *k, me_diag *d) { return qconv_common(k, false, d); }
me_status me_qk_dwconv2d(const me_kernel_ctx *k, me_diag *d) { return qconv_common(k, true, d); }

/* ---- FullyConnected: y[b, m] = sum_n x[b, n] * W[m, n] ---- */
me_status me_qk_fully_connected(const me_kernel_ctx *k, me_diag *d) {
    const me_tensor *x = k->in[0], *w = k->n_in > 1 ? k->in[1] : NULL, *b = k->n_in > 2 ? k->in[2] : NULL;
    if (!x || !w || w->rank != 2 || x->rank < 1)
        return me_op_fail(d, ME_ERR_FORMAT, k->node, "needs an input and 2-D weights");
    if (!me_qk_is_qweight(w, 0))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, k->node, "weights '%s' are not static quantised weights", w->name);
    int64_t m = w->dims[0], nk = w->dims[1];
    if (x->dims[x->rank - 1] != nk) return me_op_fail(d, ME_ERR_FORMAT, k->node, "input features differ from weights");
    int64_t batch = me_tensor_numel(x) / (nk ? nk : 1);
    qlin q;
    me_status st = qlin_prepare(k, x, w, k->in_data[1], 0, b, b ? k->in_data[2] : NULL, m, nk, &q, d);
    int32_t *xv = NULL;
    int64_t *acc = NULL;
    if (st) goto done;
    xv = malloc((size_t)(nk ? nk : 1) * sizeof *xv);
    acc = malloc((size_t)(m ? m : 1) * sizeof *acc);
    if (!xv || !acc) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
    for (int64_t r = 0; r < batch; r++) {
        load_run(k->in_data[0], x->dtype, r * nk, nk, q.ox, xv);
        for (int64_t o = 0; o < m; o++) {
            const int32_t *wr = q.wv + o * nk;
            int64_t s = q.bias[o];
            if (q.acc32) {
                int32_t s32 = 0;
                for (int64_t i = 0; i < nk; i++) s32 += xv[i] * wr[i];
                s += s32;
            } else {
                for (int64_t i = 0; i < nk; i++) s += (int64_t)xv[i] * wr[i];
            }
            acc[o] = s;
        }
        qlin_store_row(&q, acc, 0, m, k->out_data[0], r * m);
    }
done:
    free(xv);
    free(acc);
    qlin_free(&q);
    return st;
}

/* ---- MatMul: activation x static weights (per-tensor or per output column)
 * or activation x activation (both per tensor) ---- */
static void batch_strides(const me_tensor *t, int brank, const int64_t *bdims, int64_t mat, int64_t *stride) {
    int off = brank - (t->rank - 2);
    int64_t s = mat;
    for (int i = brank - 1; i >= 0; i--) {
        int ti = i - off;
        int64_t dim = ti >= 0 ? t->dims[ti] : 1;
        stride[i] = (dim == 1 && bdims[i] != 1) || ti < 0 ? 0 : s;
        if (ti >= 0) s *= dim;
    }
}

me_status me_qk_matmul(const me_kernel_ctx *k, me_diag *d) {
    const me_node *nd = k->node;
    const me_tensor *a = k->in[0], *bt = k->n_in > 1 ? k->in[1] : NULL, *bias = k->n_in > 2 ? k->in[2] : NULL;
    const me_tensor *y = k->out[0];
    if (!a || !bt || a->rank < 2 || bt->rank < 2 || y->rank < 2)
        return me_op_fail(d, ME_ERR_FORMAT, nd, "operands must have rank >= 2");
    int64_t t0 = me_param_int(nd, "transpose_in0", 0), t1 = me_param_int(nd, "transpose_in1", 0);
    int64_t ar = a->dims[a->rank - 2], ac = a->dims[a->rank - 1], br = bt->dims[bt->rank - 2], bc = bt->dims[bt->rank - 1];
    int64_t M = t0 ? ac : ar, K = t0 ? ar : ac, N = t1 ? br : bc;
    if ((t1 ? bc : br) != K || y->dims[y->rank - 2] != M || y->dims[y->rank - 1] != N)
        return me_op_fail(d, ME_ERR_FORMAT, nd, "operand shapes do not match the output");
    bool wstatic = (bt->flags & ME_TF_STATIC) != 0;
    int waxis = t1 ? bt->rank - 2 : bt->rank - 1;
    if (wstatic ? !me_qk_is_qweight(bt, waxis) : !me_qk_is_qact(bt))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "second operand '%s' is not a supported quantised tensor", bt->name);
    if (wstatic && bt->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET && me_shape_numel(bt->rank - 2, bt->dims) != 1)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "per-axis weights with batch dimensions are not supported");
    qlin q;
    me_status st = qlin_prepare(k, a, bt, wstatic ? k->in_data[1] : NULL, waxis, bias, bias ? k->in_data[2] : NULL, N,
                                K, &q, d);
    int32_t *av = NULL, *bv = NULL;
    int64_t *acc = NULL;
    if (st) goto done;
    int brank = y->rank - 2;
    int64_t sa[ME_MAX_RANK], sb[ME_MAX_RANK];
    batch_strides(a, brank, y->dims, M * K, sa);
    batch_strides(bt, brank, y->dims, K * N, sb);
    int64_t batch = me_shape_numel(brank, y->dims);
    av = malloc((size_t)(M * K > 0 ? M * K : 1) * sizeof *av);
    bv = malloc((size_t)(K * N > 0 ? K * N : 1) * sizeof *bv);
    acc = malloc((size_t)(N > 0 ? N : 1) * sizeof *acc);
    if (!av || !bv || !acc) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
    int32_t ob = wstatic ? 0 : me_qenc_offset(bt->qenc, 0);
    int64_t idx[ME_MAX_RANK] = {0};
    for (int64_t bi = 0; bi < batch; bi++) {
        int64_t aoff = 0, boff = 0;
        for (int i = 0; i < brank; i++) { aoff += idx[i] * sa[i]; boff += idx[i] * sb[i]; }
        /* av as [M][K], bv as [K][N] with offsets applied */
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < K; j++)
                av[i * K + j] = me_qload(k->in_data[0], a->dtype, aoff + (t0 ? j * M + i : i * K + j)) + q.ox;
        for (int64_t j = 0; j < K; j++)
            for (int64_t c = 0; c < N; c++) {
                int64_t e = boff + (t1 ? c * K + j : j * N + c);
                bv[j * N + c] = wstatic ? q.wv[e] : me_qload(k->in_data[1], bt->dtype, e) + ob;
            }
        for (int64_t i = 0; i < M; i++) {
            for (int64_t c = 0; c < N; c++) acc[c] = q.bias[c];
            if (q.acc32) {
                for (int64_t j = 0; j < K; j++) {
                    int32_t x = av[i * K + j];
                    if (!x) continue;
                    const int32_t *wr = bv + j * N;
                    for (int64_t c = 0; c < N; c++) acc[c] += (int64_t)(x * wr[c]);
                }
            } else {
                axpy_rows64(K, av + i * K, bv, N, N, acc);
            }
            qlin_store_row(&q, acc, 0, N, k->out_data[0], (bi * M + i) * N);
        }
        for (int i = brank - 1; i >= 0; i--) {
            if (++idx[i] < y->dims[i]) break;
            idx[i] = 0;
        }
    }
done:
    free(av);
    free(bv);
    free(acc);
    qlin_free(&q);
    return st;
}

/* ---- prepared values for the packed fast kernels (qk_common.h) ---- */
me_status me_qk_lin_info_get(const me_kernel_ctx *k, me_qk_lin_info *li, me_diag *d) {
    memset(li, 0, sizeof *li);
    const me_node *nd = k->node;
    const me_tensor *x = k->in[0], *w = k->n_in > 1 ? k->in[1] : NULL, *b = k->n_in > 2 ? k->in[2] : NULL;
    if (!x || !w || !k->in_data[1] || (b && !k->in_data[2]))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "needs static weights");
    int waxis = 3;
    int64_t cout, klen;
    if (nd->op == ME_OP_CONV2D || nd->op == ME_OP_DEPTHWISE_CONV2D) {
        qconv_geom g;
        bool dw = nd->op == ME_OP_DEPTHWISE_CONV2D;
        me_status st = qconv_geometry(k, dw, &g, d);
        if (st) return st;
        cout = g.cout;
        klen = dw ? g.fh * g.fw : g.fh * g.fw * g.cin_g;
    } else if (nd->op == ME_OP_FULLY_CONNECTED && w->rank == 2) {
        waxis = 0;
        cout = w->dims[0];
        klen = w->dims[1];
    } else {
        return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "no prepared values for this op");
    }
    if (!me_qk_is_qweight(w, waxis))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "weights '%s' are not static quantised weights", w->name);
    qlin q;
    me_status st = qlin_prepare(k, x, w, k->in_data[1], waxis, b, b ? k->in_data[2] : NULL, cout, klen, &q, d);
    if (st) {
        qlin_free(&q);
        return st;
    }
    li->cout = cout;
    li->klen = klen;
    li->ox = q.ox;
    li->wv = q.wv;
    li->bias = q.bias;
    li->rq = q.rq;
    li->oy = q.oy;
    li->lo = q.lo;
    li->hi = q.hi;
    li->acc32 = q.acc32;
    return ME_OK;
}

void me_qk_lin_info_free(me_qk_lin_info *li) {
    free(li->wv);
    free(li->bias);
    free(li->rq);
    memset(li, 0, sizeof *li);
}
