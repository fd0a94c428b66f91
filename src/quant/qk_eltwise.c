/* Integer element-wise kernels (docs/quantized-arithmetic.md §5):
 * ElementWiseAdd / Subtract / Multiply, Relu / ReluMinMax, the LUT unary
 * activations, PoolMax2d / PoolAvg2d and Concat. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../ops/eltwise_util.h"
#include "../ops/param_read.h"
#include "qk_common.h"

#define ACT_SCALE(t) ((double)me_qenc_scale((t)->qenc, 0))
#define ACT_OFF(t) ((int64_t)me_qenc_offset((t)->qenc, 0))

/* ---- Add / Subtract / Multiply ---- */
me_status me_qk_eltwise(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    const me_tensor *a = k->in[0], *b = k->n_in > 1 ? k->in[1] : NULL, *y = k->out[0];
    if (!me_qk_is_qact(a) || !me_qk_is_qact(b) || !me_qk_is_qact(y))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "quantised element-wise op needs per-tensor quantised operands");
    int64_t oa = ACT_OFF(a), ob = ACT_OFF(b), oy = ACT_OFF(y), lo, hi;
    me_qdtype_range(y->dtype, &lo, &hi);
    double sa = ACT_SCALE(a), sb = ACT_SCALE(b), sy = ACT_SCALE(y);
    me_requant ra, rb, rm;
    me_status st;
    bool mul = n->op == ME_OP_MULTIPLY;
    if (mul) {
        if ((st = me_qk_requant(n, sa * sb / sy, &rm, d))) return st;
    } else {
        if ((st = me_qk_requant(n, sa / sy, &ra, d)) || (st = me_qk_requant(n, sb / sy, &rb, d))) return st;
    }
    int64_t sign = n->op == ME_OP_SUBTRACT ? -1 : 1;
    me_bcast bc;
    me_bcast_plan_ctx(&bc, k, 2);
    me_bcast_it it;
    me_bcast_begin(&bc, &it);
    for (int64_t r = 0; r < it.rows; r++, me_bcast_step(&bc, &it)) {
        for (int64_t i = 0; i < bc.row_len; i++) {
            int64_t xa = me_qload(k->in_data[0], a->dtype, it.off[0] + i * bc.inner[0]) + oa;
            int64_t xb = me_qload(k->in_data[1], b->dtype, it.off[1] + i * bc.inner[1]) + ob;
            int64_t v = mul ? me_requant_apply(&rm, xa * xb) : me_requant_apply2(&ra, xa, &rb, sign * xb);
            me_qk_store(k->out_data[0], y->dtype, it.out_off + i, me_clamp_i64(v - oy, lo, hi));
        }
    }
    return ME_OK;
}

/* ---- Relu / ReluMinMax: requantise (identity when encodings match), clamp ---- */
me_status me_qk_clamp(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    const me_tensor *x = k->in[0], *y = k->out[0];
    if (!me_qk_is_qact(x) || !me_qk_is_qact(y))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "quantised clamp needs per-tensor quantised input and output");
    me_requant r;
    me_status st = me_qk_requant(n, ACT_SCALE(x) / ACT_SCALE(y), &r, d);
    if (st) return st;
    int64_t lo, hi, ox = ACT_OFF(x), oy = ACT_OFF(y);
    me_qk_act_bounds(n, y, &lo, &hi);
    int64_t cnt = me_tensor_numel(y);
    for (int64_t i = 0; i < cnt; i++) {
        int64_t v = me_requant_apply(&r, me_qload(k->in_data[0], x->dtype, i) + ox) - oy;
        me_qk_store(k->out_data[0], y->dtype, i, me_clamp_i64(v, lo, hi));
    }
    return ME_OK;
}

/* ---- LUT: table[code] = Quantize(op_f32(Dequantize(code))) ---- */
me_status me_qk_lut(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    const me_tensor *x = k->in[0], *y = k->out[0];
    if (!me_qk_is_qact(x) || !me_qk_is_qact(y) || k->n_in != 1 || k->n_out != 1)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "table activation needs one per-tensor quantised input and output");
    int64_t qmin, qmax, ylo, yhi;
    me_qdtype_range(x->dtype, &qmin, &qmax);
    me_qdtype_range(y->dtype, &ylo, &yhi);
    int64_t size = qmax - qmin + 1;
    float *fx = malloc((size_t)size * sizeof *fx), *fy = malloc((size_t)size * sizeof *fy);
    int32_t *table = malloc((size_t)size * sizeof *table);
    me_status st = ME_OK;
    if (!fx || !fy || !table) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
    float sx = me_qenc_scale(x->qenc, 0), sy = me_qenc_scale(y->qenc, 0);
    int64_t ox = ACT_OFF(x), oy = ACT_OFF(y);
    for (int64_t c = 0; c < size; c++) fx[c] = (float)(qmin + c + ox) * sx; /* as Dequantize */
    /* the op's own float32 kernel over every code, as a 1-D tensor */
    me_tensor tx = *x, ty = *y;
    tx.dtype = ty.dtype = ME_DT_F32;
    tx.qenc = ty.qenc = NULL;
    tx.rank = ty.rank = 1;
    tx.dims[0] = ty.dims[0] = size;
    tx.flags = ty.flags = 0;
    const me_tensor *tin[1] = {&tx}, *tout[1] = {&ty};
    const void *din[1] = {fx};
    void *dout[1] = {fy};
    me_kernel_ctx fk = *k;
    fk.in = tin;
    fk.out = tout;
    fk.in_data = din;
    fk.out_data = dout;
    fk.scratch = NULL;
    fk.pool = NULL;
    if ((st = me_opdefs[n->op]->run(&fk, d))) goto done;
    for (int64_t c = 0; c < size; c++) table[c] = (int32_t)me_qk_quantize_f32(fy[c], sy, oy, ylo, yhi);
    int64_t cnt = me_tensor_numel(y);
    if (x->dtype == ME_DT_U8 && y->dtype == ME_DT_U8 && size == 256) { /* the same codes through a byte table */
        uint8_t t8[256];
        for (int c = 0; c < 256; c++) t8[c] = (uint8_t)table[c];
        me_qk_map_u8(k, t8, cnt);
        goto done;
    }
    for (int64_t i = 0; i < cnt; i++)
        me_qk_store(k->out_data[0], y->dtype, i, table[me_qload(k->in_data[0], x->dtype, i) - qmin]);
done:
    free(fx);
    free(fy);
    free(table);
    return st;
}

/* ---- pools ---- */
typedef struct qpool {
    int64_t n, h, w, c, f[2], s[2], pad[4], dil[2], oh, ow, count_pad;
} qpool;

static me_status qpool_geometry(const me_kernel_ctx *k, bool avg, qpool *p, me_diag *d) {
    const me_node *nd = k->node;
    const me_tensor *x = k->in[0], *y = k->out[0];
    if (!me_qk_is_qact(x) || !me_qk_is_qact(y) || x->rank != 4 || y->rank != 4)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "quantised pooling needs 4-D per-tensor quantised tensors");
    static const int64_t one_one[2] = {1, 1};
    me_status st;
    if ((st = param_get_ints(nd, "filter_size", 2, false, NULL, 1, p->f, d))) return st;
    if ((st = param_get_ints(nd, "stride", 2, false, NULL, 1, p->s, d))) return st;
    if ((st = param_get_ints(nd, "pad_amount", 4, true, NULL, 0, p->pad, d))) return st;
    if ((st = param_get_ints(nd, "dilation", 2, false, one_one, 1, p->dil, d))) return st;
    p->count_pad = 0;
    if (avg && (st = param_get_int(nd, "count_pad_for_edges", false, 0, 0, 1, &p->count_pad, d))) return st;
    p->n = x->dims[0]; p->h = x->dims[1]; p->w = x->dims[2]; p->c = x->dims[3];
    p->oh = y->dims[1]; p->ow = y->dims[2];
    if (y->dims[0] != p->n || y->dims[3] != p->c) return me_op_fail(d, ME_ERR_FORMAT, nd, "output shape mismatch");
    return ME_OK;
}

me_status me_qk_maxpool(const me_kernel_ctx *k, me_diag *d) {
    qpool p;
    me_status st = qpool_geometry(k, false, &p, d);
    if (st) return st;
    const me_tensor *x = k->in[0], *y = k->out[0];
    me_requant r;
    if ((st = me_qk_requant(k->node, ACT_SCALE(x) / ACT_SCALE(y), &r, d))) return st;
    int64_t ox = ACT_OFF(x), oy = ACT_OFF(y), lo, hi;
    me_qdtype_range(y->dtype, &lo, &hi);
    for (int64_t n = 0; n < p.n; n++)
        for (int64_t oh = 0; oh < p.oh; oh++)
            for (int64_t ow = 0; ow < p.ow; ow++)
                for (int64_t c = 0; c < p.c; c++) {
                    int64_t best = INT64_MIN;
                    for (int64_t kh = 0; kh < p.f[0]; kh++) {
                        int64_t ih = oh * p.s[0] - p.pad[0] + kh * p.dil[0];
                        if (ih < 0 || ih >= p.h) continue;
                        for (int64_t kw = 0; kw < p.f[1]; kw++) {
                            int64_t iw = ow * p.s[1] - p.pad[2] + kw * p.dil[1];
                            if (iw < 0 || iw >= p.w) continue;
                            int64_t v = me_qload(k->in_data[0], x->dtype, ((n * p.h + ih) * p.w + iw) * p.c + c);
                            if (v > best) best = v;
                        }
                    }
                    /* a window entirely in padding: real -inf in float, the lowest code here */
                    int64_t v = best == INT64_MIN ? lo : me_clamp_i64(me_requant_apply(&r, best + ox) - oy, lo, hi);
                    me_qk_store(k->out_data[0], y->dtype, ((n * p.oh + oh) * p.ow + ow) * p.c + c, v);
                }
    return ME_OK;
}

me_status me_qk_avgpool(const me_kernel_ctx *k, me_diag *d) {
    qpool p;
    me_status st = qpool_geometry(k, true, &p, d);
    if (st) return st;
    const me_tensor *x = k->in[0], *y = k->out[0];
    int64_t taps = p.f[0] * p.f[1];
    me_requant *rq = malloc((size_t)(taps + 1) * sizeof *rq);
    if (!rq) return me_fail(d, ME_ERR_NOMEM, "out of memory");
    rq[0].m0 = 0;
    rq[0].shift = 0;
    for (int64_t t = 1; t <= taps && !st; t++) st = me_qk_requant(k->node, ACT_SCALE(x) / (ACT_SCALE(y) * (double)t), &rq[t], d);
    if (st) { free(rq); return st; }
    int64_t ox = ACT_OFF(x), oy = ACT_OFF(y), lo, hi;
    me_qdtype_range(y->dtype, &lo, &hi);
    for (int64_t n = 0; n < p.n; n++)
        for (int64_t oh = 0; oh < p.oh; oh++)
            for (int64_t ow = 0; ow < p.ow; ow++)
                for (int64_t c = 0; c < p.c; c++) {
                    int64_t sum = 0, cnt = 0;
                    for (int64_t kh = 0; kh < p.f[0]; kh++) {
                        int64_t ih = oh * p.s[0] - p.pad[0] + kh * p.dil[0];
                        bool in_h = ih >= 0 && ih < p.h, pad_h = ih >= -p.pad[0] && ih < p.h + p.pad[1];
                        for (int64_t kw = 0; kw < p.f[1]; kw++) {
                            int64_t iw = ow * p.s[1] - p.pad[2] + kw * p.dil[1];
                            bool in_w = iw >= 0 && iw < p.w, pad_w = iw >= -p.pad[2] && iw < p.w + p.pad[3];
                            if (in_h && in_w) {
                                sum += me_qload(k->in_data[0], x->dtype, ((n * p.h + ih) * p.w + iw) * p.c + c) + ox;
                                cnt++;
                            } else if (p.count_pad && pad_h && pad_w) {
                                cnt++; /* a padded tap: real zero */
                            }
                        }
                    }
                    int64_t v = me_clamp_i64(me_requant_apply(&rq[cnt], sum) - oy, lo, hi);
                    me_qk_store(k->out_data[0], y->dtype, ((n * p.oh + oh) * p.ow + ow) * p.c + c, v);
                }
    free(rq);
    return ME_OK;
}

/* ---- Concat: each input requantised to the output encoding ---- */
me_status me_qk_concat(const me_kernel_ctx *k, me_diag *d) {
    const me_node *nd = k->node;
    const me_tensor *y = k->out[0];
    if (!me_qk_is_qact(y)) return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "quantised Concat needs a quantised output");
    int axis = (int)me_param_int(nd, "axis", y->rank - 1);
    if (axis < 0 || axis >= y->rank) return me_op_fail(d, ME_ERR_FORMAT, nd, "axis out of range");
    int64_t outer, ylen, inner, lo, hi, oy = ACT_OFF(y);
    me_axis_split(y->rank, y->dims, axis, &outer, &ylen, &inner);
    me_qdtype_range(y->dtype, &lo, &hi);
    int64_t pos = 0;
    for (int i = 0; i < k->n_in; i++) {
        const me_tensor *x = k->in[i];
        if (!x) continue;
        if (!me_qk_is_qact(x) || x->rank != y->rank)
            return me_op_fail(d, ME_ERR_UNSUPPORTED, nd, "input %d is not a per-tensor quantised tensor", i);
        int64_t xo, xlen, xi;
        me_axis_split(x->rank, x->dims, axis, &xo, &xlen, &xi);
        if (xo != outer || xi != inner || pos + xlen > ylen)
            return me_op_fail(d, ME_ERR_FORMAT, nd, "input %d does not fit the output", i);
        me_requant r;
        me_status st = me_qk_requant(nd, ACT_SCALE(x) / ACT_SCALE(y), &r, d);
        if (st) return st;
        int64_t ox = ACT_OFF(x), run = xlen * inner;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < run; j++) {
                int64_t v = me_requant_apply(&r, me_qload(k->in_data[i], x->dtype, o * run + j) + ox) - oy;
                me_qk_store(k->out_data[0], y->dtype, (o * ylen + pos) * inner + j, me_clamp_i64(v, lo, hi));
            }
        pos += xlen;
    }
    return ME_OK;
}
