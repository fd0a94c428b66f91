/* Helpers shared by the integer reference kernels. */
#include "qk_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../ops/eltwise_util.h"
#include "../ops/fused_activation.h"

static bool scales_ok(const me_qenc *q, int64_t n) {
    if (!q->scales) return false;
    for (int64_t i = 0; i < n; i++)
        if (!(isfinite(q->scales[i]) && q->scales[i] > 0.0f)) return false;
    return true;
}

bool me_qk_is_qact(const me_tensor *t) {
    if (!t || !t->qenc) return false;
    if (t->dtype != ME_DT_U8 && t->dtype != ME_DT_U16 && t->dtype != ME_DT_I8 && t->dtype != ME_DT_I16) return false;
    return t->qenc->kind == ME_QENC_SCALE_OFFSET && t->qenc->n >= 1 && scales_ok(t->qenc, 1);
}

bool me_qk_is_qweight(const me_tensor *t, int axis) {
    if (!t || !t->qenc || !(t->flags & ME_TF_STATIC)) return false;
    switch (t->dtype) {
    case ME_DT_I8: case ME_DT_I4: case ME_DT_I16: case ME_DT_U8: case ME_DT_U16: case ME_DT_U4: break;
    default: return false;
    }
    const me_qenc *q = t->qenc;
    if (q->kind == ME_QENC_SCALE_OFFSET) return q->n >= 1 && scales_ok(q, 1);
    if (q->kind == ME_QENC_AXIS_SCALE_OFFSET)
        return axis >= 0 && q->axis == axis && axis < t->rank && q->n == t->dims[axis] && scales_ok(q, q->n);
    return false;
}

bool me_qk_node_has_qtensor(const me_kernel_ctx *k) {
    /* GGUF block-quantised weights (ME_QENC_BLOCK) are run by the float kernels themselves */
    for (int i = 0; i < k->n_in; i++)
        if (k->in[i] && k->in[i]->qenc && k->in[i]->qenc->kind != ME_QENC_BLOCK && !me_dtype_is_float(k->in[i]->dtype))
            return true;
    for (int i = 0; i < k->n_out; i++)
        if (k->out[i] && k->out[i]->qenc && !me_dtype_is_float(k->out[i]->dtype)) return true;
    return false;
}

int64_t me_qk_quantize_f32(float x, float scale, int64_t offset, int64_t qmin, int64_t qmax) {
    if (isnan(x)) return me_clamp_i64(-offset, qmin, qmax);
    double r = (double)me_round_half_even(x / scale) - (double)offset;
    return me_sat_f64_i64(r, qmin, qmax);
}

void me_qk_store(void *data, me_dtype dt, int64_t i, int64_t v) {
    switch (dt) {
    case ME_DT_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case ME_DT_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ME_DT_U16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ME_DT_I16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ME_DT_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    default: break;
    }
}

void me_qk_act_bounds(const me_node *n, const me_tensor *y, int64_t *lo, int64_t *hi) {
    int64_t qmin = 0, qmax = 0;
    me_qdtype_range(y->dtype, &qmin, &qmax);
    *lo = qmin;
    *hi = qmax;
    double s = me_qenc_scale(y->qenc, 0);
    int64_t off = me_qenc_offset(y->qenc, 0);
    int64_t act = ME_FUSED_ACT_NONE;
    double amin = 0.0, amax = 0.0;
    if (n->op == ME_OP_RELU) {
        act = ME_FUSED_ACT_RELU;
    } else if (n->op == ME_OP_RELU_MIN_MAX) {
        act = ME_FUSED_ACT_RELU_MIN_MAX;
        amin = me_param_float(n, "min_value", -INFINITY);
        amax = me_param_float(n, "max_value", INFINITY);
    } else {
        act = me_param_int(n, "activation", ME_FUSED_ACT_NONE);
        amin = me_param_float(n, "activation_min", 0.0);
        amax = me_param_float(n, "activation_max", 0.0);
    }
    if (act == ME_FUSED_ACT_RELU) {
        *lo = me_quantize_value(0.0, s, off, qmin, qmax);
    } else if (act == ME_FUSED_ACT_RELU_MIN_MAX) {
        *lo = me_quantize_value(amin, s, off, qmin, qmax);
        *hi = me_quantize_value(amax, s, off, qmin, qmax);
        if (*hi < *lo) *hi = *lo;
    }
}

me_status me_qk_requant(const me_node *n, double m, me_requant *r, me_diag *d) {
    if (!me_requant_make(m, r))
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n,
                          "requantisation multiplier %g is outside [2^-62, 2^30] (scales of its tensors are incompatible)",
                          m);
    return ME_OK;
}

/* ---- float-internal execution (also FP16 mode's f16 -> f32 -> f16) ---- */
enum { FI_MAX = 16 };

static void dequantise_into(const me_tensor *t, const void *src, float *dst) {
    const me_qenc *q = t->qenc;
    int64_t outer = 1, ns = 1, run = me_tensor_numel(t);
    if (q->kind == ME_QENC_AXIS_SCALE_OFFSET) me_axis_split(t->rank, t->dims, q->axis, &outer, &ns, &run);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t s = 0; s < ns; s++) {
            float scale = me_qenc_scale(q, s);
            int64_t off = me_qenc_offset(q, s);
            int64_t base = (o * ns + s) * run;
            for (int64_t i = 0; i < run; i++)
                dst[base + i] = (float)((int64_t)me_qload(src, t->dtype, base + i) + off) * scale;
        }
}

static bool is_quantised_tensor(const me_tensor *t) {
    int64_t a, b;
    return t && t->qenc && (t->qenc->kind == ME_QENC_SCALE_OFFSET || t->qenc->kind == ME_QENC_AXIS_SCALE_OFFSET) &&
           t->qenc->scales && me_qdtype_range(t->dtype, &a, &b);
}

/* Tensors the float-internal wrapper shows to the float kernel as float32:
 * quantised ones and float16 ones (FP16 mode: load f16, compute f32). */
static bool needs_view(const me_tensor *t) { return is_quantised_tensor(t) || (t && t->dtype == ME_DT_F16); }

static void to_f32_view(const me_tensor *t, const void *src, float *dst) {
    if (t->dtype == ME_DT_F16) {
        int64_t cnt = me_tensor_numel(t);
        for (int64_t i = 0; i < cnt; i++) dst[i] = me_f16_to_f32(((const uint16_t *)src)[i]);
        return;
    }
    dequantise_into(t, src, dst);
}

me_status me_qk_run_float_internal(const me_kernel_ctx *k, me_diag *d) {
    const me_node *n = k->node;
    if (k->n_in > FI_MAX || k->n_out > FI_MAX)
        return me_op_fail(d, ME_ERR_UNSUPPORTED, n, "too many inputs/outputs for a float-internal kernel");
    me_tensor tens[2 * FI_MAX];
    const me_tensor *tin[FI_MAX], *tout[FI_MAX];
    const void *din[FI_MAX];
    void *dout[FI_MAX];
    float *bufs[2 * FI_MAX] = {0};
    int idx_in[FI_MAX], idx_out[FI_MAX];
    me_status st = ME_OK;
    void *scratch = NULL;
    for (int i = 0; i < k->n_in; i++) {
        tin[i] = k->in[i];
        din[i] = k->in_data[i];
        idx_in[i] = k->in[i] ? i : -1;
        if (!k->in[i]) continue;
        tens[i] = *k->in[i];
        if (needs_view(k->in[i])) {
            int64_t cnt = me_tensor_numel(k->in[i]);
            bufs[i] = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof(float));
            if (!bufs[i]) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
            to_f32_view(k->in[i], k->in_data[i], bufs[i]);
            tens[i].dtype = ME_DT_F32;
            tens[i].qenc = NULL;
            if (tens[i].flags & ME_TF_STATIC) { tens[i].data = bufs[i]; tens[i].nbytes = (size_t)cnt * sizeof(float); }
            tin[i] = &tens[i];
            din[i] = bufs[i];
        }
    }
    for (int i = 0; i < k->n_out; i++) {
        tout[i] = k->out[i];
        dout[i] = k->out_data[i];
        idx_out[i] = FI_MAX + i;
        tens[FI_MAX + i] = *k->out[i];
        if (needs_view(k->out[i])) {
            int64_t cnt = me_tensor_numel(k->out[i]);
            bufs[FI_MAX + i] = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof(float));
            if (!bufs[FI_MAX + i]) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
            tens[FI_MAX + i].dtype = ME_DT_F32;
            tens[FI_MAX + i].qenc = NULL;
            tout[i] = &tens[FI_MAX + i];
            dout[i] = bufs[FI_MAX + i];
        }
    }
    const me_opdef *def = me_opdefs[n->op];
    if (def->scratch_bytes) {
        /* a one-node graph over the float views, for the op's scratch size */
        me_graph mini;
        memset(&mini, 0, sizeof mini);
        mini.tensors = tens;
        mini.n_tensors = 2 * FI_MAX;
        me_node nd = *n;
        nd.in = idx_in;
        nd.out = idx_out;
        size_t sb = def->scratch_bytes(&mini, &nd);
        if (sb) {
            scratch = aligned_alloc(64, me_align_up(sb, 64));
            if (!scratch) { st = me_fail(d, ME_ERR_NOMEM, "out of memory"); goto done; }
        }
    }
    me_kernel_ctx fk = *k;
    fk.in = tin;
    fk.out = tout;
    fk.in_data = din;
    fk.out_data = dout;
    fk.scratch = scratch;
    if (me_qk_node_has_qtensor(k)) fk.pool = NULL; /* one thread: bit-exact whatever the thread count */
    if ((st = def->run(&fk, d)) != ME_OK) goto done;
    for (int i = 0; i < k->n_out; i++) {
        if (!bufs[FI_MAX + i]) continue;
        const me_tensor *y = k->out[i];
        if (y->dtype == ME_DT_F16) { /* store f16: round to nearest even */
            int64_t cnt = me_tensor_numel(y);
            for (int64_t j = 0; j < cnt; j++) ((uint16_t *)k->out_data[i])[j] = me_f32_to_f16(bufs[FI_MAX + i][j]);
            continue;
        }
        const me_qenc *q = y->qenc;
        int64_t qmin, qmax;
        me_qdtype_range(y->dtype, &qmin, &qmax);
        int64_t outer = 1, ns = 1, run = me_tensor_numel(y);
        if (q->kind == ME_QENC_AXIS_SCALE_OFFSET) me_axis_split(y->rank, y->dims, q->axis, &outer, &ns, &run);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t s = 0; s < ns; s++) {
                float scale = me_qenc_scale(q, s);
                int64_t off = me_qenc_offset(q, s), base = (o * ns + s) * run;
                for (int64_t j = 0; j < run; j++)
                    me_qk_store(k->out_data[i], y->dtype, base + j,
                                me_qk_quantize_f32(bufs[FI_MAX + i][base + j], scale, off, qmin, qmax));
            }
    }
done:
    for (int i = 0; i < 2 * FI_MAX; i++) free(bufs[i]);
    free(scratch);
    return st;
}
