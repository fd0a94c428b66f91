/* Attention (package modelexport: QNN has no such op): scaled dot-product
 * attention as PyTorch exports it written out, made one op by the
 * fuse_attention pass (src/passes/fuse_attention.c).
 *
 *   S = scale * (q . k)           q [B..., Sq, D], k [B..., D, Sk] ([B..., Sk, D] with transpose_k)
 *   S = mask(S)                   mask_mode 0: none; 1: S + mask (float, broadcast to S);
 *                                 2: mask ? fill : S; 3: mask ? S : fill (mask bool, fill a scalar)
 *   P = softmax(S) along Sk
 *   y = P . v                     v [B..., Sk, Dv] ([B..., Dv, Sk] with transpose_v); y [B..., Sq, Dv]
 *
 * Inputs: 0 q, 1 k, 2 v, 3 mask (modes 1-3), 4 fill (modes 2-3: one float32).
 * q, k and v have the same batch dims B...; the mask broadcasts numpy-style
 * to [B..., Sq, Sk] (its rank at most that of S).
 *
 * Kernel: per batch matrix the scores go to scratch [Sq, Sk] through the GEMM
 * kernels of the node's gemm_f32 variant, each row is scaled, masked and
 * normalised as the Softmax op does (max subtracted, vector exp row, sum in
 * double), then one GEMM gives y. The [B..., Sq, Sk] tensors of the
 * written-out form never exist, so neither do their memory or passes over it. */
#include <math.h>

#include "../core/util.h"
#include "../kernels/dispatch.h"
#include "../runtime/threadpool.h"
#include "eltwise_util.h"
#include "gemm_f32.h"
#include "param_read.h"

enum { ATTN_MASK_NONE = 0, ATTN_MASK_ADD = 1, ATTN_MASK_FILL_TRUE = 2, ATTN_MASK_FILL_FALSE = 3 };

typedef struct attn_geom {
    int64_t sq, sk, d, dv, batch;
    int brank; /* batch rank of q/k/v */
    int64_t tk, tv, mode;
    double scale;
    int64_t mstride[ME_MAX_RANK]; /* mask strides (elements) per score axis, 0 where broadcast */
} attn_geom;

static me_status attn_geometry(const me_node *nd, const me_tensor *q, const me_tensor *k, const me_tensor *v,
                               const me_tensor *mask, const me_tensor *fill, attn_geom *g, me_diag *d) {
    const char *op = param_op_name(nd);
    if (!q || !k || !v) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): needs q, k and v", nd->name, op);
    if (q->dtype != ME_DT_F32 || k->dtype != ME_DT_F32 || v->dtype != ME_DT_F32)
        return me_fail(d, ME_ERR_UNSUPPORTED, "node '%s' (%s): q, k and v must be float32", nd->name, op);
    if (q->rank < 2 || k->rank != q->rank || v->rank != q->rank)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): q, k and v need the same rank >= 2 (have %d, %d, %d)", nd->name,
                       op, q->rank, k->rank, v->rank);
    me_status st;
    if ((st = param_get_int(nd, "transpose_k", false, 0, 0, 1, &g->tk, d)) ||
        (st = param_get_int(nd, "transpose_v", false, 0, 0, 1, &g->tv, d)) ||
        (st = param_get_int(nd, "mask_mode", false, 0, 0, 3, &g->mode, d)) ||
        (st = param_get_float(nd, "scale", false, 1.0, &g->scale, d)))
        return st;
    int r = q->rank;
    g->brank = r - 2;
    for (int i = 0; i < r - 2; i++)
        if (k->dims[i] != q->dims[i] || v->dims[i] != q->dims[i])
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): q, k and v must have the same batch dimensions", nd->name, op);
    g->sq = q->dims[r - 2];
    g->d = q->dims[r - 1];
    int64_t kd = g->tk ? k->dims[r - 1] : k->dims[r - 2];
    g->sk = g->tk ? k->dims[r - 2] : k->dims[r - 1];
    int64_t vs = g->tv ? v->dims[r - 1] : v->dims[r - 2];
    g->dv = g->tv ? v->dims[r - 2] : v->dims[r - 1];
    if (kd != g->d || vs != g->sk)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): q, k and v shapes do not agree (depth %lld vs %lld, keys %lld vs %lld)",
                       nd->name, op, (long long)g->d, (long long)kd, (long long)g->sk, (long long)vs);
    g->batch = me_shape_numel(r - 2, q->dims);
    if (g->batch < 0) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): invalid batch shape", nd->name, op);
    if (g->mode == ATTN_MASK_NONE) return ME_OK;
    if (!mask) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): mask_mode %lld needs a mask input", nd->name, op, (long long)g->mode);
    if (g->mode == ATTN_MASK_ADD ? mask->dtype != ME_DT_F32 : mask->dtype != ME_DT_BOOL)
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): the mask must be %s for mask_mode %lld", nd->name, op,
                       g->mode == ATTN_MASK_ADD ? "float32" : "bool", (long long)g->mode);
    if (g->mode != ATTN_MASK_ADD && (!fill || fill->dtype != ME_DT_F32 || me_tensor_numel(fill) != 1))
        return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): mask_mode %lld needs a one-element float32 fill input", nd->name, op,
                       (long long)g->mode);
    /* mask strides against the scores [B..., Sq, Sk] */
    if (mask->rank > r) return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): the mask has a higher rank than the scores", nd->name, op);
    int64_t sdims[ME_MAX_RANK];
    for (int i = 0; i < r - 2; i++) sdims[i] = q->dims[i];
    sdims[r - 2] = g->sq;
    sdims[r - 1] = g->sk;
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        int mi = i - (r - mask->rank);
        int64_t md = mi >= 0 ? mask->dims[mi] : 1;
        if (md != 1 && md != sdims[i])
            return me_fail(d, ME_ERR_FORMAT, "node '%s' (%s): the mask does not broadcast to the scores", nd->name, op);
        g->mstride[i] = md == 1 ? 0 : s;
        s *= md;
    }
    return ME_OK;
}

static const me_tensor *opt_input(const me_graph *gr, const me_node *nd, int i) {
    return i < nd->n_in ? input_tensor(gr, nd, i) : NULL;
}

static me_status attention_infer(me_graph *gr, me_node *nd, me_diag *d) {
    attn_geom g;
    const me_tensor *q = input_tensor(gr, nd, 0);
    me_status st = attn_geometry(nd, q, input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), opt_input(gr, nd, 3),
                                 opt_input(gr, nd, 4), &g, d);
    if (st) return st;
    int64_t dims[ME_MAX_RANK];
    for (int i = 0; i < q->rank; i++) dims[i] = q->dims[i];
    dims[q->rank - 1] = g.dv;
    return me_set_output(gr, nd, 0, ME_DT_F32, q->rank, dims, d);
}

static size_t attention_scratch(const me_graph *gr, const me_node *nd) {
    attn_geom g;
    size_t b;
    if (attn_geometry(nd, input_tensor(gr, nd, 0), input_tensor(gr, nd, 1), input_tensor(gr, nd, 2), opt_input(gr, nd, 3),
                      opt_input(gr, nd, 4), &g, NULL) != ME_OK ||
        !me_mul_size((size_t)g.sq, (size_t)g.sk, &b) || !me_mul_size(b, sizeof(float), &b))
        return 0;
    return b;
}

typedef struct attn_rows {
    const attn_geom *g;
    float *s;                 /* scores of one batch matrix [Sq, Sk] */
    const unsigned char *mask;
    const float *maskf;
    int64_t moff;             /* mask offset of this batch matrix */
    float fill;
    me_unary_f32_fn exp_row;
} attn_rows;

static void attn_softmax_rows(void *v, int64_t begin, int64_t end) {
    const attn_rows *a = v;
    const attn_geom *g = a->g;
    const int64_t sk = g->sk, rs = g->mstride[g->brank], cs = g->mstride[g->brank + 1];
    const float scale = (float)g->scale;
    for (int64_t i = begin; i < end; i++) {
        float *row = a->s + i * sk;
        const int64_t mrow = a->moff + i * rs;
        float m = -INFINITY;
        for (int64_t j = 0; j < sk; j++) {
            float z = row[j] * scale;
            switch (g->mode) {
            case ATTN_MASK_ADD: z += a->maskf[mrow + j * cs]; break;
            case ATTN_MASK_FILL_TRUE: if (a->mask[mrow + j * cs]) z = a->fill; break;
            case ATTN_MASK_FILL_FALSE: if (!a->mask[mrow + j * cs]) z = a->fill; break;
            default: break;
            }
            row[j] = z;
            if (z > m || isnan(z)) m = z;
        }
        for (int64_t j = 0; j < sk; j++) row[j] -= m;
        a->exp_row(row, row, sk);
        float inv = (float)(1.0 / me_sum8_f64(row, sk));
        for (int64_t j = 0; j < sk; j++) row[j] *= inv;
    }
}

static me_status attention_run(const me_kernel_ctx *k, me_diag *d) {
    if (k->n_in < 3 || k->n_out < 1 || !k->in[0] || !k->in[1] || !k->in[2] || !k->out[0])
        return me_fail(d, ME_ERR_FORMAT, "node '%s': Attention needs q, k, v and an output", k->node->name);
    const me_tensor *mt = k->n_in > 3 ? k->in[3] : NULL, *ft = k->n_in > 4 ? k->in[4] : NULL;
    attn_geom g;
    me_status st = attn_geometry(k->node, k->in[0], k->in[1], k->in[2], mt, ft, &g, d);
    if (st) return st;
    if (!k->scratch && g.sq * g.sk > 0) return me_fail(d, ME_ERR_INTERNAL, "node '%s': no scratch for the scores", k->node->name);
    const me_gemm_f32_kernel *gemm = k->variant;
    const float *q = k->in_data[0], *kk = k->in_data[1], *v = k->in_data[2];
    float *y = k->out_data[0], *s = k->scratch;
    attn_rows rows = {&g, s, g.mode >= ATTN_MASK_FILL_TRUE ? k->in_data[3] : NULL,
                      g.mode == ATTN_MASK_ADD ? k->in_data[3] : NULL, 0,
                      g.mode >= ATTN_MASK_FILL_TRUE ? *(const float *)k->in_data[4] : 0.0f,
                      me_unary_f32_fn_of(NULL, ME_UNARY_EXP)};
    int64_t idx[ME_MAX_RANK] = {0};
    for (int64_t b = 0; b < g.batch; b++) {
        const float *qb = q + b * g.sq * g.d, *kb = kk + b * g.d * g.sk, *vb = v + b * g.sk * g.dv;
        float *yb = y + b * g.sq * g.dv;
        me_gemm_f32_init(g.sq, g.sk, s, g.sk, NULL);
        if (g.tk) me_sgemm_nt(k->pool, gemm, g.sq, g.sk, g.d, qb, g.d, kb, g.d, s, g.sk);
        else me_sgemm_nn(k->pool, gemm, g.sq, g.sk, g.d, qb, g.d, kb, g.sk, s, g.sk);
        rows.moff = 0;
        for (int ax = 0; ax < g.brank; ax++) rows.moff += idx[ax] * g.mstride[ax];
        if ((double)g.sq * (double)g.sk < 16384.0) attn_softmax_rows(&rows, 0, g.sq);
        else me_parallel_for(k->pool, g.sq, 1, attn_softmax_rows, &rows);
        me_gemm_f32_init(g.sq, g.dv, yb, g.dv, NULL);
        if (g.tv) me_sgemm_nt(k->pool, gemm, g.sq, g.dv, g.sk, s, g.sk, vb, g.sk, yb, g.dv);
        else me_sgemm_nn(k->pool, gemm, g.sq, g.dv, g.sk, s, g.sk, vb, g.dv, yb, g.dv);
        for (int ax = g.brank - 1; ax >= 0; ax--) {
            if (++idx[ax] < k->in[0]->dims[ax]) break;
            idx[ax] = 0;
        }
    }
    return ME_OK;
}

static const me_param_schema attention_params[] = {
    {"scale", ME_PARAM_SCALAR, ME_DT_F32, false},
    {"transpose_k", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {"transpose_v", ME_PARAM_SCALAR, ME_DT_BOOL, false},
    {"mask_mode", ME_PARAM_SCALAR, ME_DT_U32, false},
    {NULL},
};

const me_opdef me_opdef_ATTENTION = {
    "Attention", "modelexport", 3, 5, 1, 1, attention_params, attention_infer, attention_run, attention_scratch, NULL, NULL,
};
