/* Pre-packed weights for the integer kernels (quant_kernels.h) and the fast
 * A8W8 kernels that read them (qint8 family, src/kernels/kernels.h).
 *
 * A node gets a packed copy when it runs on U8 activations and its result can
 * be computed exactly by the qint8 kernels:
 *   Conv2d (group 1), DepthWiseConv2d (channel multiplier 1), FullyConnected:
 *     weights plus offsets fit s8, input offset in [-255, 0], and the
 *     reference accumulates in int32 (so the wrapping int32 sum is exact).
 *     Packed: the weights in the qint8 layout, per output channel the
 *     accumulator start (bias in accumulator units, plus for the GEMM
 *     ox * sum_k w[k][c], so the kernels multiply raw codes), the
 *     multiplier and the shift (docs/quantized-arithmetic.md §4).
 *   ElementWiseAdd / Subtract / Multiply with U8 operands and output: the
 *     256 x 256 table of output codes, each computed by the reference formula.
 * Every value comes from the reference's own preparation (me_qk_lin_info_get,
 * me_requant_*), so the fast path is bit-exact with the reference kernels;
 * everything else keeps its reference kernel (packed_bytes 0). The packed
 * bytes do not depend on the kernel variant. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../kernels/kernels.h"
#include "../kernels/qint8_scalar.h"
#include "../ops/eltwise_util.h"
#include "../ops/param_read.h"
#include "../runtime/threadpool.h"
#include "qk_common.h"
#include "quant_kernels.h"

enum { QP_MAGIC = 0x3150514du /* "MQP1" */, QP_GEMM = 1, QP_DW = 2, QP_TABLE = 3, QP_ADD = 4, QP_MUL = 5 };

typedef struct qp_hdr {
    uint32_t magic, kind;
    int64_t n;      /* output channels (GEMM, DW) */
    int64_t k;      /* reduction length (GEMM), taps (DW) */
    int64_t cp;     /* padded channel count: blocks of 16 */
    int64_t op;     /* the node's op, checked at run time */
    int64_t wbytes; /* bytes of the weight section (a multiple of 64) */
    int64_t spare[2];
} qp_hdr;
_Static_assert(sizeof(qp_hdr) == 64, "packed header is one cache line");

/* A kernel context over the graph's tensors (static data only). */
typedef struct gctx {
    me_kernel_ctx k;
    const me_tensor *in[3];
    const me_tensor *out[1];
    const void *in_data[3];
    void *out_data[1];
} gctx;

static bool gctx_make(const me_graph *g, const me_node *n, gctx *c) {
    memset(c, 0, sizeof *c);
    if (n->n_in < 1 || n->n_in > 3 || n->n_out != 1 || n->out[0] < 0 || n->out[0] >= g->n_tensors) return false;
    for (int i = 0; i < n->n_in; i++) {
        const me_tensor *t = n->in[i] >= 0 && n->in[i] < g->n_tensors ? &g->tensors[n->in[i]] : NULL;
        c->in[i] = t;
        c->in_data[i] = t && (t->flags & ME_TF_STATIC) ? t->data : NULL;
    }
    c->out[0] = &g->tensors[n->out[0]];
    c->k.node = n;
    c->k.in = c->in;
    c->k.out = c->out;
    c->k.in_data = c->in_data;
    c->k.out_data = c->out_data;
    c->k.n_in = n->n_in;
    c->k.n_out = 1;
    return true;
}

static bool is_u8_act(const me_tensor *t) { return t && t->dtype == ME_DT_U8 && me_qk_is_qact(t); }

/* Requantisation as the qint8 kernels take it (kernels.h): shift clamped to
 * 63 (a larger one gives 0, as in the reference), M == 0 as shift 1. */
static void qp_rq(const me_requant *r, int32_t *mul, int32_t *shift) {
    *mul = r->m0;
    *shift = r->m0 == 0 ? 1 : r->shift > 63 ? 63 : r->shift;
}

/* Whether a Conv2d / DepthWiseConv2d / FullyConnected node runs on the qint8
 * kernels, decided without reading the weights (O(channels), so a loader can
 * size the packed copy cheaply): I8 weights with zero offsets (so in the s8
 * range), an input offset in [-255, 0], every channel's multiplier valid, and
 * K * max|x + ox| * 128 + max|bias| + 1 < 2^31, which bounds the reference's
 * own int32 test from above (same bias formula as qk_linear.c). */
static bool lin_cheap_ok(const gctx *c, bool fc, bool dw, int64_t *cout, int64_t *K) {
    const me_tensor *x = c->in[0], *w = c->in[1], *b = c->k.n_in > 2 ? c->in[2] : NULL, *y = c->out[0];
    if (w->dtype != ME_DT_I8 || w->rank != (fc ? 2 : 4) || !me_qk_is_qweight(w, fc ? 0 : 3)) return false;
    int64_t co = fc ? w->dims[0] : w->dims[3];
    int64_t k = fc ? w->dims[1] : w->dims[0] * w->dims[1] * (dw ? 1 : w->dims[2]);
    if (co <= 0 || k <= 0 || (fc && x->dims[x->rank - 1] != k)) return false;
    bool per_ch = w->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET;
    for (int64_t ch = 0; ch < (per_ch ? co : 1); ch++)
        if (me_qenc_offset(w->qenc, ch) != 0) return false;
    int64_t ox = me_qenc_offset(x->qenc, 0), oy = me_qenc_offset(y->qenc, 0);
    if (ox < -255 || ox > 0 || oy < -(1 << 23) || oy > (1 << 23)) return false;
    if (b && b->dtype != ME_DT_F32) {
        int64_t lo, hi;
        if (!b->qenc || !me_qdtype_range(b->dtype, &lo, &hi) || b->dtype == ME_DT_I4 || b->dtype == ME_DT_U4) return false;
    }
    double sx = me_qenc_scale(x->qenc, 0), sy = me_qenc_scale(y->qenc, 0), max_bias = 0;
    for (int64_t ch = 0; ch < co; ch++) {
        double acc_scale = sx * me_qenc_scale(w->qenc, per_ch ? ch : 0);
        me_requant r;
        if (!me_requant_make(acc_scale / sy, &r)) return false;
        if (!b) continue;
        double breal;
        if (b->dtype == ME_DT_F32) {
            breal = ((const float *)c->in_data[2])[ch];
        } else {
            int64_t bc = b->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET ? ch : 0;
            breal = ((double)me_qload(c->in_data[2], b->dtype, ch) + me_qenc_offset(b->qenc, bc)) * me_qenc_scale(b->qenc, bc);
        }
        double v = breal / acc_scale;
        if (!isfinite(v) || fabs(v) > 0x1p62) return false;
        if (fabs(v) + 1 > max_bias) max_bias = fabs(v) + 1;
    }
    double max_x = (double)(-ox > 255 + ox ? -ox : 255 + ox);
    if ((double)k * max_x * 128.0 + max_bias >= 0x1p31) return false;
    *cout = co;
    *K = k;
    return true;
}

/* A 128-byte record: the header, then one element-wise op's kernel arguments. */
static size_t qp_args_record(void *dst, uint32_t kind, int op, const void *args, size_t args_bytes) {
    if (!dst) return 128;
    qp_hdr *h = dst;
    memset(dst, 0, 128);
    h->magic = QP_MAGIC;
    h->kind = kind;
    h->op = op;
    memcpy((uint8_t *)dst + 64, args, args_bytes);
    return 128;
}

/* Builds (dst != NULL) or sizes node n's packed copy; 0 when it gets none. */
static size_t qp_build(const me_graph *g, const me_node *n, void *dst) {
    gctx c;
    if (!gctx_make(g, n, &c) || !is_u8_act(c.in[0]) || !is_u8_act(c.out[0])) return 0;
    const me_tensor *x = c.in[0], *y = c.out[0];
    if (n->op == ME_OP_ADD || n->op == ME_OP_SUBTRACT || n->op == ME_OP_MULTIPLY) {
        const me_tensor *b = n->n_in > 1 ? c.in[1] : NULL;
        if (n->n_in != 2 || !is_u8_act(b)) return 0;
        double sa = me_qenc_scale(x->qenc, 0), sb = me_qenc_scale(b->qenc, 0), sy = me_qenc_scale(y->qenc, 0);
        me_requant ra, rb, rm;
        bool mul = n->op == ME_OP_MULTIPLY;
        if (mul ? !me_requant_make(sa * sb / sy, &rm) : (!me_requant_make(sa / sy, &ra) || !me_requant_make(sb / sy, &rb)))
            return 0;
        int64_t oa = me_qenc_offset(x->qenc, 0), ob = me_qenc_offset(b->qenc, 0), oy = me_qenc_offset(y->qenc, 0);
        if (!mul && oa >= -255 && oa <= 255 && ob >= -255 && ob <= 255 && oy >= -(1 << 23) && oy <= (1 << 23)) {
            /* Add / Subtract as one exact int64 sum (qint8 add): the reference's
             * single rounding at the larger shift, when the terms' shifts differ
             * by at most 22 (else the table below) */
            me_qadd_u8_args a = {(int32_t)oa, (int32_t)ob, ra.m0, rb.m0, 0, 0, 1, (int32_t)-oy};
            if (n->op == ME_OP_SUBTRACT) a.mb = -rb.m0;
            int s = ra.m0 && rb.m0 ? (ra.shift > rb.shift ? ra.shift : rb.shift) : ra.m0 ? ra.shift : rb.m0 ? rb.shift : 1;
            int la = ra.m0 ? s - ra.shift : 0, lb = rb.m0 ? s - rb.shift : 0;
            if (la <= 22 && lb <= 22) {
                a.la = la, a.lb = lb, a.s = s > 64 ? 64 : s;
                return qp_args_record(dst, QP_ADD, n->op, &a, sizeof a);
            }
        }
        if (mul && oa >= -255 && oa <= 255 && ob >= -255 && ob <= 255 && oy >= -(1 << 23) && oy <= (1 << 23)) {
            /* Multiply: |xa * xb| <= 510^2 is an exact int32 accumulator, so
             * the qint8 requantisation gives the reference's codes (qint8 mul) */
            me_qmul_u8_args a = {(int32_t)oa, (int32_t)ob, 0, 1, (int32_t)-oy};
            qp_rq(&rm, &a.mul, &a.shift);
            return qp_args_record(dst, QP_MUL, n->op, &a, sizeof a);
        }
        size_t bytes = 64 + 65536;
        if (!dst) return bytes;
        qp_hdr *h = dst;
        memset(h, 0, sizeof *h);
        h->magic = QP_MAGIC;
        h->kind = QP_TABLE;
        h->op = n->op;
        uint8_t *t = (uint8_t *)dst + 64;
        int64_t sign = n->op == ME_OP_SUBTRACT ? -1 : 1;
        for (int64_t qa = 0; qa < 256; qa++)
            for (int64_t qb = 0; qb < 256; qb++) {
                int64_t xa = qa + oa, xb = qb + ob;
                int64_t v = mul ? me_requant_apply(&rm, xa * xb) : me_requant_apply2(&ra, xa, &rb, sign * xb);
                t[qa * 256 + qb] = (uint8_t)me_clamp_i64(v - oy, 0, 255);
            }
        return bytes;
    }
    bool dw = n->op == ME_OP_DEPTHWISE_CONV2D;
    if (n->op != ME_OP_CONV2D && !dw && n->op != ME_OP_FULLY_CONNECTED) return 0;
    const me_tensor *w = n->n_in > 1 ? c.in[1] : NULL;
    if (!w || !c.in_data[1] || (n->n_in > 2 && c.in[2] && !c.in_data[2])) return 0;
    if (n->op != ME_OP_FULLY_CONNECTED) {
        if (w->rank != 4 || x->rank != 4) return 0;
        if (dw ? (w->dims[2] != 1 || w->dims[3] != x->dims[3]) : w->dims[2] != x->dims[3]) return 0;
    }
    int64_t cout = 0, K = 0;
    if (!lin_cheap_ok(&c, n->op == ME_OP_FULLY_CONNECTED, dw, &cout, &K)) return 0;
    int64_t cp = dw ? (cout + 63) / 64 * 64 : (cout + 15) / 16 * 16, kg = (K + 3) / 4;
    /* sizes: a small multiple of the weight tensor's own size (checked by the loader against the file) */
    int64_t wb = dw ? kg * cp * 4 : (cp / 16) * kg * 64, wbytes = (wb + 63) / 64 * 64;
    size_t bytes = 64 + (size_t)wbytes + 3 * (size_t)cp * sizeof(int32_t);
    if (!dst) return bytes;
    me_diag quiet;
    me_diag_init(&quiet);
    me_qk_lin_info li;
    me_status lst = me_qk_lin_info_get(&c.k, &li, &quiet);
    me_diag_free(&quiet);
    bool ok = lst == ME_OK && li.acc32 && li.cout == cout && (dw || li.klen == K) && me_tensor_numel(w) == cout * K;
    for (int64_t i = 0; ok && i < cout * K; i++) ok = li.wv[i] >= -128 && li.wv[i] <= 127;
    if (!ok) { /* cannot happen after lin_cheap_ok: the reference's own checks are weaker */
        me_qk_lin_info_free(&li);
        return 0;
    }
    qp_hdr *h = dst;
    memset(dst, 0, bytes);
    h->magic = QP_MAGIC;
    h->kind = dw ? QP_DW : QP_GEMM;
    h->n = cout;
    h->k = K;
    h->cp = cp;
    h->op = n->op;
    h->wbytes = wbytes;
    int8_t *wp = (int8_t *)dst + 64;
    int32_t *bias = (int32_t *)((uint8_t *)dst + 64 + wbytes), *mul = bias + cp, *shift = mul + cp;
    int64_t *wsum = calloc((size_t)cout, sizeof *wsum);
    if (!wsum) {
        me_qk_lin_info_free(&li);
        return 0;
    }
    bool fc = n->op == ME_OP_FULLY_CONNECTED;
    /* weight element (k, o): HWIO conv at k * cout + o, FC [cout, K] at o * K + k; read in storage order */
    for (int64_t i = 0; i < cout * K; i++) {
        int64_t o = fc ? i / K : i % cout, k = fc ? i % K : i / cout;
        int32_t v = li.wv[i];
        wsum[o] += v;
        if (dw) wp[me_qdw_w_at(k, o, cp)] = (int8_t)v;
        else wp[((o / 16) * kg + k / 4) * 64 + (o % 16) * 4 + k % 4] = (int8_t)v;
    }
    for (int64_t o = 0; o < cout; o++) {
        /* the exact accumulator start mod 2^32 (int32 wrap-around arithmetic):
         * the kernels multiply raw codes (padding taps read the code -ox) */
        int64_t start = li.bias[o] + (int64_t)li.ox * wsum[o], at = dw ? me_qdw_p_at(o) : o;
        bias[at] = (int32_t)(uint32_t)(uint64_t)start;
        qp_rq(&li.rq[o], &mul[at], &shift[at]);
    }
    for (int64_t o = cout; o < cp; o++) shift[dw ? me_qdw_p_at(o) : o] = 1;
    free(wsum);
    me_qk_lin_info_free(&li);
    return bytes;
}

size_t me_qnode_packed_bytes(const me_graph *g, const me_node *n, const void *variant) {
    (void)variant;
    return qp_build(g, n, NULL);
}

me_status me_qnode_pack(const me_graph *g, const me_node *n, const void *variant, void *dst, me_diag *d) {
    (void)variant;
    if (!dst || qp_build(g, n, dst) == 0)
        return me_fail(d, ME_ERR_INTERNAL, "node '%s': no packed layout for its integer kernel", n->name);
    return ME_OK;
}

/* ---------------- the fast kernels over packed data ---------------- */

/* Below this many multiply-adds a node runs on the calling thread: waking the
 * workers costs more than it saves (the split never changes the result).
 * 2^18 (about a microsecond of one core's VNNI work) lets the small layers of
 * a low-resolution CNN use the second thread; depthwise rows use 2^15. */
enum { PAR_MIN_MACS = 1 << 18 };

typedef struct gemm_job {
    me_qgemm_u8s8_fn fn;
    me_qgemm_u8s8_args base;  /* a/y/M set per block */
    const uint8_t *x;
    int64_t h, w, c, fh, fw, stride[2], pad[4], dil[2], oh, ow;
    bool direct, by_cols;
    int32_t pad_code;
    int failed;
    int64_t n_img;            /* images in x (im2col reads below x + n_img * h * w * c) */
} gemm_job;

/* n bytes (a filter row of few channels is a short run): fixed-size copies
 * the compiler inlines, instead of a library call per run */
static inline void copy_run(uint8_t *dst, const uint8_t *src, int64_t n) {
    if (n > 16) {
        memcpy(dst, src, (size_t)n);
    } else if (n >= 8) {
        memcpy(dst, src, 8);
        memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else {
        for (int64_t i = 0; i < n; i++) dst[i] = src[i];
    }
}

/* Patch buffers have IM2COL_SLACK bytes past their last row: a short run is
 * copied as 16 bytes (the bytes past it are written over by the next run or
 * row, or land in the slack) when 16 bytes can be read there. */
enum { IM2COL_SLACK = 16 };
static inline void copy_short(uint8_t *dst, const uint8_t *src, int64_t n, const uint8_t *src_end) {
    if (n <= 16 && src + 16 <= src_end) memcpy(dst, src, 16);
    else copy_run(dst, src, n);
}

/* Rows [m0, m0+rows) of the patch matrix (kp bytes each; padding taps get the
 * code of a real zero). */
static void im2col(const gemm_job *j, int64_t m0, int64_t rows, uint8_t *buf, int64_t kp) {
    /* the geometry in locals: stores through uint8_t pointers may alias *j */
    const int64_t c = j->c, H = j->h, W = j->w, FH = j->fh, FW = j->fw, OH = j->oh, OW = j->ow;
    const int64_t sh = j->stride[0], sw = j->stride[1], pt = j->pad[0], pl = j->pad[2], dh = j->dil[0], dw = j->dil[1];
    const uint8_t *x = j->x, *x_end = j->x + j->n_img * H * W * c;
    const int pad_code = j->pad_code;
    int64_t ow = m0 % OW, oh = (m0 / OW) % OH, nimg = m0 / (OW * OH);
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *dst = buf + r * kp;
        const uint8_t *img = x + nimg * H * W * c;
        for (int64_t kh = 0; kh < FH; kh++) {
            int64_t ih = oh * sh - pt + kh * dh;
            int64_t iw0 = ow * sw - pl, iw1 = iw0 + (FW - 1) * dw;
            if (ih >= 0 && ih < H && iw0 >= 0 && iw1 < W && dw == 1) {
                /* the whole filter row lies inside: one contiguous run of the input */
                copy_short(dst, img + (ih * W + iw0) * c, FW * c, x_end);
                dst += FW * c;
                continue;
            }
            for (int64_t kw = 0; kw < FW; kw++, dst += c) {
                int64_t iw = iw0 + kw * dw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) {
                    if (c <= 16) memset(dst, pad_code, 16); /* the slack or later runs take the rest */
                    else memset(dst, pad_code, (size_t)c);
                } else {
                    copy_short(dst, img + (ih * W + iw) * c, c, x_end);
                }
            }
        }
        /* up to kp (at most 3 bytes): the packed weights are 0 there */
        for (uint8_t *end = buf + (r + 1) * kp; dst < end; dst++) *(volatile uint8_t *)dst = 0;
        if (++ow == OW) {
            ow = 0;
            if (++oh == OH) oh = 0, nimg++;
        }
    }
}

static void gemm_rows(void *arg, int64_t b, int64_t e) {
    gemm_job *j = arg;
    me_qgemm_u8s8_args p = j->base;
    if (j->by_cols) { /* column blocks [b, e) of 16 */
        int64_t kg = (p.K + 3) / 4, n0 = b * 16, n1 = e * 16 < p.N ? e * 16 : p.N;
        p.w += b * kg * 64;
        p.bias += n0;
        p.mul += n0;
        p.shift += n0;
        p.y += n0;
        p.N = n1 - n0;
        j->fn(&p);
        return;
    }
    if (j->direct) {
        p.a = j->x + b * p.lda;
        p.y = j->base.y + b * p.ldy;
        p.M = e - b;
        j->fn(&p);
        return;
    }
    enum { BLK = 32 };
    int64_t K = p.K, kp = (K + 3) / 4 * 4;
    uint8_t *buf = malloc((size_t)(BLK * kp) + IM2COL_SLACK);
    if (!buf) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t m0 = b; m0 < e; m0 += BLK) {
        int64_t rows = e - m0 < BLK ? e - m0 : BLK;
        im2col(j, m0, rows, buf, kp);
        p.a = buf;
        p.lda = kp;
        p.K = kp; /* whole groups of 4: the padding bytes are 0 and so are their weights */
        p.M = rows;
        p.y = j->base.y + m0 * p.ldy;
        j->fn(&p);
    }
    free(buf);
}

typedef struct dw_job {
    me_qdw_u8_row_fn fn;
    me_qdw_u8_args a;
    const uint8_t *x;
    uint8_t *y;
    int64_t oh;
} dw_job;

static void dw_rows(void *arg, int64_t b, int64_t e) {
    dw_job *j = arg;
    me_qdw_u8_args a = j->a;
    for (int64_t r = b; r < e; r++) {
        int64_t nimg = r / j->oh;
        a.x = j->x + nimg * a.h * a.w_in * a.c;
        j->fn(&a, r % j->oh, j->y + r * a.ow * a.c);
    }
}

typedef struct map_job {
    const uint8_t *t, *a, *b;  /* table; operands (b NULL: unary table t[a], through lut when set) */
    me_qlut_u8_fn lut;
    uint8_t *y;
    bool clamp;                /* unary table equal to clamp(q, lo, hi) */
    uint8_t lo, hi;
} map_job;

static void map_chunk(void *arg, int64_t begin, int64_t end) {
    const map_job *j = arg;
    const uint8_t *t = j->t, *a = j->a, *b = j->b;
    uint8_t *y = j->y;
    if (!b && j->clamp) { /* the table is clamp(q, lo, hi): a loop the compiler vectorises */
        const uint8_t lo = j->lo, hi = j->hi;
        for (int64_t i = begin; i < end; i++) {
            uint8_t v = a[i] < lo ? lo : a[i];
            y[i] = v > hi ? hi : v;
        }
        return;
    }
    if (b)
        for (int64_t i = begin; i < end; i++) y[i] = t[a[i] * 256 + b[i]];
    else if (j->lut)
        j->lut(t, a + begin, y + begin, end - begin);
    else
        for (int64_t i = begin; i < end; i++) y[i] = t[a[i]];
}

enum { PAR_MIN = 1 << 16 };

void me_qk_map_u8(const me_kernel_ctx *k, const uint8_t table[256], int64_t n) {
    map_job j = {table, k->in_data[0], NULL, me_qint8_select()->lut, k->out_data[0], false, 0, 0};
    if (n < PAR_MIN) map_chunk(&j, 0, n);
    else me_parallel_for(k->pool, n, 64, map_chunk, &j);
}

/* broadcast rows [r0, r1) of a two-operand table op */
typedef struct table_rows_job {
    const me_bcast *bc;
    const uint8_t *t, *a, *b;
    uint8_t *y;
} table_rows_job;

static void table_rows(void *arg, int64_t r0, int64_t r1) {
    const table_rows_job *j = arg;
    const me_bcast *bc = j->bc;
    me_bcast_it it;
    me_bcast_seek(bc, &it, r0);
    const int64_t ia = bc->inner[0], ib = bc->inner[1], len = bc->row_len;
    for (int64_t r = r0; r < r1; r++, me_bcast_step(bc, &it)) {
        const uint8_t *ar = j->a + it.off[0], *br = j->b + it.off[1];
        uint8_t *yr = j->y + it.out_off;
        if (ia == 0) { /* one row of the table for the whole row */
            const uint8_t *tr = j->t + ar[0] * 256;
            for (int64_t i = 0; i < len; i++) yr[i] = tr[br[i * ib]];
        } else if (ib == 0) {
            const uint8_t *tc = j->t + br[0];
            for (int64_t i = 0; i < len; i++) yr[i] = tc[ar[i] * 256];
        } else {
            for (int64_t i = 0; i < len; i++) yr[i] = j->t[ar[i] * 256 + br[i]];
        }
    }
}

static me_status run_table(const me_kernel_ctx *k, const qp_hdr *h) {
    const uint8_t *t = (const uint8_t *)h + 64, *a = k->in_data[0], *b = k->in_data[1];
    uint8_t *y = k->out_data[0];
    me_bcast bc;
    me_bcast_plan_ctx(&bc, k, 2);
    me_bcast_it it;
    me_bcast_begin(&bc, &it);
    if (it.rows == 1 && bc.inner[0] == 1 && bc.inner[1] == 1) { /* same shapes: one flat run */
        map_job j = {t, a + it.off[0], b + it.off[1], NULL, y + it.out_off, false, 0, 0};
        if (bc.row_len < PAR_MIN) map_chunk(&j, 0, bc.row_len);
        else me_parallel_for(k->pool, bc.row_len, 64, map_chunk, &j);
        return ME_OK;
    }
    table_rows_job j = {&bc, t, a, b, y};
    if (bc.numel < PAR_MIN) table_rows(&j, 0, it.rows);
    else me_parallel_for(k->pool, it.rows, 1, table_rows, &j);
    return ME_OK;
}

/* broadcast rows [r0, r1) of a qint8 mul (a broadcast scalar is spread over a short buffer) */
typedef struct mul_rows_job {
    const me_bcast *bc;
    me_qmul_u8_fn fn;
    const me_qmul_u8_args *p;
    const uint8_t *a, *b;
    uint8_t *y;
} mul_rows_job;

static void mul_rows(void *arg, int64_t r0, int64_t r1) {
    const mul_rows_job *j = arg;
    const me_bcast *bc = j->bc;
    me_bcast_it it;
    me_bcast_seek(bc, &it, r0);
    uint8_t sa[256], sb[256];
    for (int64_t r = r0; r < r1; r++, me_bcast_step(bc, &it)) {
        const uint8_t *ar = j->a + it.off[0], *br = j->b + it.off[1];
        uint8_t *yr = j->y + it.out_off;
        if (bc->inner[0] && bc->inner[1]) {
            j->fn(j->p, ar, br, yr, bc->row_len);
            continue;
        }
        if (!bc->inner[0]) memset(sa, ar[0], sizeof sa);
        if (!bc->inner[1]) memset(sb, br[0], sizeof sb);
        for (int64_t i = 0; i < bc->row_len; i += 256) {
            int64_t len = bc->row_len - i < 256 ? bc->row_len - i : 256;
            j->fn(j->p, bc->inner[0] ? ar + i : sa, bc->inner[1] ? br + i : sb, yr + i, len);
        }
    }
}

static void mul_flat(void *arg, int64_t b, int64_t e) {
    const mul_rows_job *j = arg;
    j->fn(j->p, j->a + b, j->b + b, j->y + b, e - b);
}

static me_status run_mul(const me_kernel_ctx *k, const me_qint8_kernel *kern, const qp_hdr *h) {
    me_qmul_u8_args p;
    memcpy(&p, (const uint8_t *)h + 64, sizeof p);
    me_bcast bc;
    me_bcast_plan_ctx(&bc, k, 2);
    me_bcast_it it;
    me_bcast_begin(&bc, &it);
    mul_rows_job j = {&bc, kern->mul, &p, k->in_data[0], k->in_data[1], k->out_data[0]};
    if (it.rows == 1 && bc.inner[0] == 1 && bc.inner[1] == 1) { /* same shapes: one flat run */
        j.a += it.off[0], j.b += it.off[1], j.y += it.out_off;
        if (bc.row_len < PAR_MIN) mul_flat(&j, 0, bc.row_len);
        else me_parallel_for(k->pool, bc.row_len, 64, mul_flat, &j);
        return ME_OK;
    }
    if (bc.numel < PAR_MIN) mul_rows(&j, 0, it.rows);
    else me_parallel_for(k->pool, it.rows, 1, mul_rows, &j);
    return ME_OK;
}

typedef struct add_job {
    me_qadd_u8_fn fn;
    const me_qadd_u8_args *p;
    const uint8_t *a, *b;
    uint8_t *y;
} add_job;

static void add_chunk(void *arg, int64_t begin, int64_t end) {
    const add_job *j = arg;
    j->fn(j->p, j->a + begin, j->b + begin, j->y + begin, end - begin);
}

static me_status run_add(const me_kernel_ctx *k, const me_qint8_kernel *kern, const qp_hdr *h, me_diag *d) {
    me_qadd_u8_args p;
    memcpy(&p, (const uint8_t *)h + 64, sizeof p);
    const uint8_t *a = k->in_data[0], *b = k->in_data[1];
    uint8_t *y = k->out_data[0];
    me_bcast bc;
    me_bcast_plan_ctx(&bc, k, 2);
    me_bcast_it it;
    me_bcast_begin(&bc, &it);
    if (it.rows == 1 && bc.inner[0] == 1 && bc.inner[1] == 1) { /* same shapes: one flat run */
        add_job j = {kern->add, &p, a + it.off[0], b + it.off[1], y + it.out_off};
        if (bc.row_len < PAR_MIN) add_chunk(&j, 0, bc.row_len);
        else me_parallel_for(k->pool, bc.row_len, 64, add_chunk, &j);
        return ME_OK;
    }
    uint8_t *tmp = NULL;
    if (bc.inner[0] == 0 || bc.inner[1] == 0) { /* a broadcast scalar per row: spread it */
        tmp = malloc((size_t)(bc.row_len > 0 ? bc.row_len : 1));
        if (!tmp) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    }
    for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&bc, &it)) {
        const uint8_t *ar = a + it.off[0], *br = b + it.off[1];
        if (bc.inner[0] == 0) memset(tmp, *ar, (size_t)bc.row_len), ar = tmp;
        if (bc.inner[1] == 0) memset(tmp, *br, (size_t)bc.row_len), br = tmp;
        kern->add(&p, ar, br, y + it.out_off, bc.row_len);
    }
    free(tmp);
    return ME_OK;
}

/* The record may come from a context binary: its total size was checked
 * against the node, but every field that sizes or offsets a read, and every
 * shift or multiplier a kernel takes, is checked against the node and the
 * ranges of kernels.h before any kernel runs (fuzzing found a forged `cp`
 * reading past the record): the header on every run (a few compares), the
 * per-channel shifts once, when the record is attached (me_qk_packed_check). */
static bool rq_ok(int32_t mul, int32_t shift) { return mul >= 0 && shift >= 1 && shift <= 63; }
static bool off_ok(int32_t o) { return o >= -255 && o <= 255; }
static bool zy_ok(int32_t z) { return z >= -(1 << 23) && z <= (1 << 23); }

static bool qp_header_ok(const me_kernel_ctx *k, const qp_hdr *h) {
    const me_node *nd = k->node;
    if (h->spare[0] || h->spare[1]) return false;
    bool eltwise = nd->op == ME_OP_ADD || nd->op == ME_OP_SUBTRACT || nd->op == ME_OP_MULTIPLY;
    if (h->kind == QP_ADD || h->kind == QP_MUL || h->kind == QP_TABLE) {
        if (!eltwise || h->n || h->k || h->cp || h->wbytes) return false;
        if (h->kind == QP_ADD) {
            me_qadd_u8_args a;
            memcpy(&a, (const uint8_t *)h + 64, sizeof a);
            return nd->op != ME_OP_MULTIPLY && off_ok(a.oa) && off_ok(a.ob) && a.ma > INT32_MIN && a.mb > INT32_MIN &&
                   a.la >= 0 && a.la <= 22 && a.lb >= 0 && a.lb <= 22 && a.s >= 1 && a.s <= 64 && zy_ok(a.zy);
        }
        if (h->kind == QP_MUL) {
            me_qmul_u8_args a;
            memcpy(&a, (const uint8_t *)h + 64, sizeof a);
            return nd->op == ME_OP_MULTIPLY && off_ok(a.oa) && off_ok(a.ob) && rq_ok(a.mul, a.shift) && zy_ok(a.zy);
        }
        return true; /* a byte table: any bytes are codes */
    }
    bool dw = nd->op == ME_OP_DEPTHWISE_CONV2D;
    if (h->kind != (dw ? QP_DW : QP_GEMM) || (!dw && nd->op != ME_OP_CONV2D && nd->op != ME_OP_FULLY_CONNECTED)) return false;
    if (h->n < 1 || h->k < 1 || h->n > (INT64_C(1) << 40) || h->k > (INT64_C(1) << 40)) return false;
    /* the layout qp_build makes for n channels and k taps / reduction terms */
    int64_t cp = dw ? (h->n + 63) / 64 * 64 : (h->n + 15) / 16 * 16, kg = (h->k + 3) / 4;
    int64_t wb = dw ? kg * cp * 4 : (cp / 16) * kg * 64;
    return h->cp == cp && h->wbytes == (wb + 63) / 64 * 64;
}

me_status me_qk_packed_check(const me_kernel_ctx *k, const void *packed, me_diag *d) {
    const qp_hdr *h = packed;
    if (h->magic != QP_MAGIC || h->op != k->node->op || !qp_header_ok(k, h))
        return me_op_fail(d, ME_ERR_FORMAT, k->node, "packed weights are damaged (a field out of range)");
    if (h->kind != QP_GEMM && h->kind != QP_DW) return ME_OK;
    /* (bias values are plain numbers: the kernels accumulate in wrapping 32-bit lanes) */
    const int32_t *mul = (const int32_t *)((const uint8_t *)h + 64 + h->wbytes) + h->cp, *shift = mul + h->cp;
    for (int64_t c = 0; c < h->cp; c++)
        if (!rq_ok(mul[c], shift[c])) return me_op_fail(d, ME_ERR_FORMAT, k->node, "packed weights are damaged (a requantisation shift out of range)");
    return ME_OK;
}

me_status me_qk_run_packed(const me_kernel_ctx *k, me_diag *d) {
    const me_node *nd = k->node;
    const qp_hdr *h = k->packed;
    if (h->magic != QP_MAGIC || h->op != nd->op || !is_u8_act(k->in[0]) || !is_u8_act(k->out[0]))
        return me_op_fail(d, ME_ERR_FORMAT, nd, "packed weights do not belong to this node");
    if (!qp_header_ok(k, h)) return me_op_fail(d, ME_ERR_FORMAT, nd, "packed weights are damaged (a field out of range)");
    /* the row fixed for this node, if it is one of this family's (else dispatch) */
    const me_qint8_kernel *kern = me_qint8_select();
    for (int v = 0; k->variant && v < me_qint8_kernel_count; v++)
        if (k->variant == (const void *)&me_qint8_kernels[v]) kern = &me_qint8_kernels[v];
    if (h->kind == QP_ADD) {
        if (k->n_in != 2 || !is_u8_act(k->in[1])) return me_op_fail(d, ME_ERR_FORMAT, nd, "packed add does not fit the node");
        return run_add(k, kern, h, d);
    }
    if (h->kind == QP_MUL) {
        if (k->n_in != 2 || !is_u8_act(k->in[1])) return me_op_fail(d, ME_ERR_FORMAT, nd, "packed mul does not fit the node");
        return run_mul(k, kern, h);
    }
    if (h->kind == QP_TABLE) {
        if (k->n_in != 2 || !is_u8_act(k->in[1])) return me_op_fail(d, ME_ERR_FORMAT, nd, "packed table does not fit the node");
        return run_table(k, h);
    }
    const me_tensor *x = k->in[0], *y = k->out[0], *w = k->n_in > 1 ? k->in[1] : NULL;
    int64_t lo, hi;
    me_qk_act_bounds(nd, y, &lo, &hi);
    int32_t zy = -me_qenc_offset(y->qenc, 0), ox = me_qenc_offset(x->qenc, 0);
    const int8_t *wp = (const int8_t *)h + 64;
    const int32_t *bias = (const int32_t *)((const uint8_t *)h + 64 + h->wbytes);
    const int32_t *mul = bias + h->cp, *shift = mul + h->cp;
    me_status st;
    if (!w) return me_op_fail(d, ME_ERR_FORMAT, nd, "missing weights");
    if (nd->op == ME_OP_FULLY_CONNECTED) {
        int64_t K = x->dims[x->rank - 1], N = w->dims[0];
        if (h->kind != QP_GEMM || h->n != N || h->k != K || y->dims[y->rank - 1] != N)
            return me_op_fail(d, ME_ERR_FORMAT, nd, "packed weights do not fit the node");
        gemm_job j = {kern->gemm, {NULL, K, 0, K, N, wp, bias, mul, shift, zy, (int32_t)lo, (int32_t)hi,
                                   k->out_data[0], N}, k->in_data[0], 0, 0, 0, 0, 0, {0}, {0}, {0}, 0, 0, true,
                      false, 0, 0};
        int64_t M = me_tensor_numel(x) / K;
        j.base.M = M;
        j.base.a = k->in_data[0];
        if ((double)M * (double)N * (double)K < PAR_MIN_MACS) {
            gemm_rows(&j, 0, M);
        } else if (M < 16) {
            j.by_cols = true;
            me_parallel_for(k->pool, (N + 15) / 16, 1, gemm_rows, &j);
        } else {
            me_parallel_for(k->pool, M, 8, gemm_rows, &j);
        }
        return ME_OK;
    }
    /* Conv2d / DepthWiseConv2d: geometry as the reference reads it */
    static const int64_t one_one[2] = {1, 1};
    int64_t stride[2] = {1, 1}, pad[4] = {0}, dil[2] = {1, 1};
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, stride, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, dil, d))) return st;
    if (x->rank != 4 || y->rank != 4 || w->rank != 4)
        return me_op_fail(d, ME_ERR_FORMAT, nd, "needs a 4-D input, 4-D weights and a 4-D output");
    int64_t nimg = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3];
    int64_t fh = w->dims[0], fw = w->dims[1], cout = w->dims[3], oh = y->dims[1], ow = y->dims[2];
    if (y->dims[0] != nimg || y->dims[3] != cout || h->n != cout)
        return me_op_fail(d, ME_ERR_FORMAT, nd, "packed weights do not fit the node");
    if (nd->op == ME_OP_DEPTHWISE_CONV2D) {
        if (h->kind != QP_DW || h->k != fh * fw || cout != C)
            return me_op_fail(d, ME_ERR_FORMAT, nd, "packed weights do not fit the node");
        dw_job j = {kern->dw, {NULL, H, W, C, h->cp, fh, fw, stride[0], stride[1], pad[0], pad[2], dil[0], dil[1], ow,
                               ox, wp, bias, mul, shift, zy, (int32_t)lo, (int32_t)hi},
                    k->in_data[0], k->out_data[0], oh};
        if ((double)nimg * (double)oh * (double)ow * (double)C * (double)(fh * fw) < PAR_MIN_MACS / 8)
            dw_rows(&j, 0, nimg * oh);
        else
            me_parallel_for(k->pool, nimg * oh, 1, dw_rows, &j);
        return ME_OK;
    }
    int64_t K = fh * fw * C;
    if (h->kind != QP_GEMM || h->k != K || w->dims[2] != C)
        return me_op_fail(d, ME_ERR_FORMAT, nd, "packed weights do not fit the node");
    gemm_job j = {kern->gemm, {NULL, K, 0, K, cout, wp, bias, mul, shift, zy, (int32_t)lo, (int32_t)hi,
                               k->out_data[0], cout}, k->in_data[0], H, W, C, fh, fw,
                  {stride[0], stride[1]}, {pad[0], pad[1], pad[2], pad[3]}, {dil[0], dil[1]}, oh, ow, false, false,
                  -ox, 0};
    j.n_img = nimg;
    j.direct = fh == 1 && fw == 1 && stride[0] == 1 && stride[1] == 1 && !pad[0] && !pad[2] && oh == H && ow == W;
    int64_t M = nimg * oh * ow;
    if ((double)M * (double)cout * (double)K < PAR_MIN_MACS) {
        gemm_rows(&j, 0, M);
    } else if (M < 256 && cout >= 64 && me_threadpool_threads(k->pool) > 1) {
        /* few output pixels, large weights (late layers): split the columns so
         * that each thread reads only its share of the weights */
        int64_t kp = (K + 3) / 4 * 4;
        uint8_t *buf = NULL;
        if (!j.direct) {
            if (!(buf = malloc((size_t)(M * kp) + IM2COL_SLACK))) return me_fail(d, ME_ERR_NOMEM, "out of memory");
            im2col(&j, 0, M, buf, kp);
        }
        j.base.a = j.direct ? j.x : buf;
        j.base.lda = j.direct ? K : kp;
        j.base.K = j.direct ? K : kp;
        j.base.M = M;
        j.by_cols = true;
        me_parallel_for(k->pool, (cout + 15) / 16, 2, gemm_rows, &j);
        free(buf);
    } else {
        me_parallel_for(k->pool, M, 8, gemm_rows, &j);
    }
    if (j.failed) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    return ME_OK;
}

/* ---- U8 -> U8 unary integer ops through a table of the reference's codes ---- */

/* table[q] = clamp(requant(q + ox, sx / sy) - oy, lo, hi), the reference's formula per code */
static me_status u8_table(const me_kernel_ctx *k, int64_t lo, int64_t hi, uint8_t *table, me_diag *d) {
    const me_tensor *x = k->in[0], *y = k->out[0];
    me_requant r;
    me_status st = me_qk_requant(k->node, (double)me_qenc_scale(x->qenc, 0) / (double)me_qenc_scale(y->qenc, 0), &r, d);
    if (st) return st;
    int64_t ox = me_qenc_offset(x->qenc, 0), oy = me_qenc_offset(y->qenc, 0);
    for (int64_t q = 0; q < 256; q++) table[q] = (uint8_t)me_clamp_i64(me_requant_apply(&r, q + ox) - oy, lo, hi);
    return ME_OK;
}

bool me_qk_u8_unary(const me_kernel_ctx *k) {
    return k->n_in >= 1 && k->n_out == 1 && is_u8_act(k->in[0]) && is_u8_act(k->out[0]);
}

me_status me_qk_clamp_u8(const me_kernel_ctx *k, me_diag *d) {
    int64_t lo, hi;
    me_qk_act_bounds(k->node, k->out[0], &lo, &hi);
    uint8_t table[256];
    me_status st = u8_table(k, lo, hi, table, d);
    if (st) return st;
    map_job j = {table, k->in_data[0], NULL, me_qint8_select()->lut, k->out_data[0], true, table[0], table[255]};
    for (int q = 0; q < 256 && j.clamp; q++) j.clamp = table[q] == (q < j.lo ? j.lo : q > j.hi ? j.hi : q);
    int64_t cnt = me_tensor_numel(k->out[0]);
    if (cnt < PAR_MIN) map_chunk(&j, 0, cnt);
    else me_parallel_for(k->pool, cnt, 64, map_chunk, &j);
    return ME_OK;
}

me_status me_qk_maxpool_u8(const me_kernel_ctx *k, me_diag *d) {
    const me_node *nd = k->node;
    const me_tensor *x = k->in[0], *y = k->out[0];
    static const int64_t one_one[2] = {1, 1};
    int64_t f[2] = {1, 1}, s[2] = {1, 1}, pad[4] = {0}, dil[2] = {1, 1};
    me_status st;
    if ((st = param_get_ints(nd, "filter_size", 2, false, NULL, 1, f, d))) return st;
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, s, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, dil, d))) return st;
    if (x->rank != 4 || y->rank != 4 || y->dims[0] != x->dims[0] || y->dims[3] != x->dims[3])
        return me_op_fail(d, ME_ERR_FORMAT, nd, "output shape mismatch");
    uint8_t table[256];
    if ((st = u8_table(k, 0, 255, table, d))) return st;
    int64_t N = x->dims[0], H = x->dims[1], W = x->dims[2], C = x->dims[3], OH = y->dims[1], OW = y->dims[2];
    const uint8_t *xd = k->in_data[0];
    uint8_t *yd = k->out_data[0];
    uint8_t *best = malloc((size_t)(C > 0 ? C : 1));
    if (!best) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                bool any = false;
                memset(best, 0, (size_t)C);
                for (int64_t kh = 0; kh < f[0]; kh++) {
                    int64_t ih = oh * s[0] - pad[0] + kh * dil[0];
                    if (ih < 0 || ih >= H) continue;
                    for (int64_t kw = 0; kw < f[1]; kw++) {
                        int64_t iw = ow * s[1] - pad[2] + kw * dil[1];
                        if (iw < 0 || iw >= W) continue;
                        const uint8_t *p = xd + ((n * H + ih) * W + iw) * C;
                        for (int64_t c = 0; c < C; c++) best[c] = p[c] > best[c] ? p[c] : best[c];
                        any = true;
                    }
                }
                uint8_t *o = yd + ((n * OH + oh) * OW + ow) * C;
                /* a window entirely in padding gives the lowest code */
                for (int64_t c = 0; c < C; c++) o[c] = any ? table[best[c]] : 0;
            }
    free(best);
    return ME_OK;
}

/* ---- Quantize F32 -> U8 per tensor (src/ops/convert.c's definition) ----
 * q = clamp(round_half_even(float32(x / scale)) - offset, 0, 255), NaN -> -offset
 * clamped. nearbyintf in the default rounding mode is round-half-even, as
 * me_round_half_even; the subtraction and clamp are exact in double. */
bool me_qk_quantize_u8_ok(const me_kernel_ctx *k) {
    const me_tensor *x = k->in[0], *y = k->out[0];
    return k->n_in == 1 && k->n_out == 1 && x && x->dtype == ME_DT_F32 && y->dtype == ME_DT_U8 && y->qenc &&
           y->qenc->kind == ME_QENC_SCALE_OFFSET && y->qenc->scales && isfinite(y->qenc->scales[0]) &&
           y->qenc->scales[0] > 0.0f && (!y->qenc->offsets || (y->qenc->offsets[0] >= -65536 && y->qenc->offsets[0] <= 65536));
}

typedef struct quant_job {
    me_quant_u8_fn fn;
    const float *x;
    uint8_t *y;
    float scale;
    int32_t off;
} quant_job;

static void quant_chunk(void *arg, int64_t begin, int64_t end) {
    const quant_job *j = arg;
    j->fn(j->x + begin, j->y + begin, end - begin, j->scale, j->off);
}

me_status me_qk_quantize_u8(const me_kernel_ctx *k, me_diag *d) {
    (void)d;
    const me_qenc *q = k->out[0]->qenc;
    quant_job j = {me_qint8_select()->quant, k->in_data[0], k->out_data[0], q->scales[0], q->offsets ? q->offsets[0] : 0};
    int64_t cnt = me_tensor_numel(k->out[0]);
    if (cnt < PAR_MIN) quant_chunk(&j, 0, cnt);
    else me_parallel_for(k->pool, cnt, 64, quant_chunk, &j);
    return ME_OK;
}

/* PoolAvg2d on U8 (docs/quantized-arithmetic.md §5): the sum of (q + ox) over
 * the taps inside the input is sum(q) + n_in * ox, accumulated exactly; the
 * count and its multiplier as the reference (made once per count that occurs).
 * Work is split over output pixels and blocks of channels (a global pool has
 * one pixel); each output is computed the same way whatever the split. */
enum { AVG_CB = 256 };

typedef struct avg_job {
    const uint8_t *x;
    uint8_t *y;
    int64_t H, W, C, OH, OW, ncb, f[2], s[2], pad[4], dil[2], count_pad, ox, oy;
    const me_requant *rq; /* by count; m0 < 0: not made (never read then) */
} avg_job;

static void avg_count(const avg_job *j, int64_t oh, int64_t ow, int64_t *n_in, int64_t *cnt) {
    *n_in = *cnt = 0;
    for (int64_t kh = 0; kh < j->f[0]; kh++) {
        int64_t ih = oh * j->s[0] - j->pad[0] + kh * j->dil[0];
        bool in_h = ih >= 0 && ih < j->H, pad_h = ih >= -j->pad[0] && ih < j->H + j->pad[1];
        for (int64_t kw = 0; kw < j->f[1]; kw++) {
            int64_t iw = ow * j->s[1] - j->pad[2] + kw * j->dil[1];
            bool in_w = iw >= 0 && iw < j->W, pad_w = iw >= -j->pad[2] && iw < j->W + j->pad[3];
            if (in_h && in_w) ++*n_in, ++*cnt;
            else if (j->count_pad && pad_h && pad_w) ++*cnt; /* a padded tap: real zero */
        }
    }
}

static void avg_units(void *arg, int64_t u0, int64_t u1) {
    const avg_job *j = arg;
    int32_t sum[AVG_CB];
    for (int64_t u = u0; u < u1; u++) {
        int64_t cb = u % j->ncb, px = u / j->ncb, ow = px % j->OW, oh = (px / j->OW) % j->OH, n = px / (j->OW * j->OH);
        int64_t c0 = cb * AVG_CB, nc = j->C - c0 < AVG_CB ? j->C - c0 : AVG_CB, n_in, cnt;
        avg_count(j, oh, ow, &n_in, &cnt);
        memset(sum, 0, sizeof sum);
        for (int64_t kh = 0; kh < j->f[0]; kh++) {
            int64_t ih = oh * j->s[0] - j->pad[0] + kh * j->dil[0];
            if (ih < 0 || ih >= j->H) continue;
            for (int64_t kw = 0; kw < j->f[1]; kw++) {
                int64_t iw = ow * j->s[1] - j->pad[2] + kw * j->dil[1];
                if (iw < 0 || iw >= j->W) continue;
                const uint8_t *p = j->x + ((n * j->H + ih) * j->W + iw) * j->C + c0;
                for (int64_t c = 0; c < nc; c++) sum[c] += p[c]; /* <= 255 * 2^20 taps: fits */
            }
        }
        uint8_t *o = j->y + px * j->C + c0;
        const me_requant *r = &j->rq[cnt];
        int32_t mul, shift;
        qp_rq(r, &mul, &shift);
        /* int32 accumulators and a bounded offset: the qint8 requantisation
         * (kernels.h) gives the reference's code; else the reference itself */
        bool fast = r->shift <= 93 && j->oy >= -(1 << 23) && j->oy <= (1 << 23) &&
                    (int64_t)255 * n_in + (n_in * (j->ox < 0 ? -j->ox : j->ox)) < ((int64_t)1 << 31);
        for (int64_t c = 0; c < nc; c++) {
            int64_t acc = sum[c] + n_in * j->ox;
            o[c] = fast ? me_qint8_out((uint32_t)(int32_t)acc, mul, shift, (int32_t)-j->oy, 0, 255)
                        : (uint8_t)me_clamp_i64(me_requant_apply(r, acc) - j->oy, 0, 255);
        }
    }
}

me_status me_qk_avgpool_u8(const me_kernel_ctx *k, me_diag *d) {
    const me_node *nd = k->node;
    const me_tensor *x = k->in[0], *y = k->out[0];
    static const int64_t one_one[2] = {1, 1};
    int64_t f[2] = {1, 1}, s[2] = {1, 1}, pad[4] = {0}, dil[2] = {1, 1}, count_pad = 0;
    me_status st;
    if ((st = param_get_ints(nd, "filter_size", 2, false, NULL, 1, f, d))) return st;
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, s, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, dil, d))) return st;
    if ((st = param_get_int(nd, "count_pad_for_edges", false, 0, 0, 1, &count_pad, d))) return st;
    if (x->rank != 4 || y->rank != 4 || y->dims[0] != x->dims[0] || y->dims[3] != x->dims[3])
        return me_op_fail(d, ME_ERR_FORMAT, nd, "output shape mismatch");
    int64_t taps = f[0] * f[1];
    if (taps > (1 << 20)) return me_qk_avgpool(k, d);
    avg_job j = {k->in_data[0], k->out_data[0], x->dims[1], x->dims[2], x->dims[3], y->dims[1], y->dims[2], 0,
                 {f[0], f[1]}, {s[0], s[1]}, {pad[0], pad[1], pad[2], pad[3]}, {dil[0], dil[1]}, count_pad,
                 me_qenc_offset(x->qenc, 0), me_qenc_offset(y->qenc, 0), NULL};
    int64_t npx = x->dims[0] * j.OH * j.OW;
    j.ncb = (j.C + AVG_CB - 1) / AVG_CB;
    /* The reference makes the multiplier of every count 1..taps and fails if
     * one is out of range. M_t = sx / (sy * t) does not increase with t (each
     * rounded step is monotone), so when M_1 and M_taps are valid and M_taps
     * is not 0 every M_t is; otherwise the reference runs (and reports). Only
     * the counts that occur are made here. */
    double sx = me_qenc_scale(x->qenc, 0), sy = me_qenc_scale(y->qenc, 0);
    me_requant r1, rt;
    if (!me_requant_make(sx / (sy * 1.0), &r1) || !me_requant_make(sx / (sy * (double)taps), &rt) ||
        (rt.m0 == 0 && r1.m0 != 0))
        return me_qk_avgpool(k, d);
    me_requant *rq = malloc((size_t)(taps + 1) * sizeof *rq);
    if (!rq) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    for (int64_t t = 0; t <= taps; t++) rq[t].m0 = -1;
    rq[0].m0 = 0;
    rq[0].shift = 0;
    for (int64_t px = 0; px < j.OH * j.OW && !st; px++) { /* the counts repeat for every image */
        int64_t n_in, cnt;
        avg_count(&j, px / j.OW, px % j.OW, &n_in, &cnt);
        if (rq[cnt].m0 < 0) st = me_qk_requant(nd, sx / (sy * (double)cnt), &rq[cnt], d);
    }
    if (st) {
        free(rq);
        return st;
    }
    j.rq = rq;
    if (npx <= 0 || j.C <= 0) {
        free(rq);
        return ME_OK;
    }
    int64_t units = npx * j.ncb;
    if ((double)npx * (double)taps * (double)j.C < PAR_MIN) avg_units(&j, 0, units);
    else me_parallel_for(k->pool, units, 1, avg_units, &j);
    free(rq);
    return ME_OK;
}
